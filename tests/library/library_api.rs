//! The library as a program that depends on it uses it: every invalid
//! training setting comes back as an error naming its field, and a trained
//! network's `predict` and `predict_proba` agree with each other and with
//! the run's own test figures.

use std::ops::ControlFlow;

use mlp_engine::{Dataset, ErrorKind, MomentumSgd, Split, TrainConfig, train};

fn small_split() -> Split {
    Dataset::synthetic(600, 2).into_split(400, 100, 521).unwrap()
}

fn run(split: &Split, config: &TrainConfig) -> mlp_engine::Result<mlp_engine::TrainOutcome> {
    train(split, config, |_| ControlFlow::Continue(()))
}

#[test]
fn every_invalid_setting_is_an_error_naming_its_field() {
    let split = small_split();
    let base = TrainConfig { hidden: 8, epochs: 2, ..TrainConfig::default() };
    let sgd = |learning_rate, momentum| MomentumSgd { learning_rate, momentum };
    let cases = [
        (TrainConfig { hidden: 0, ..base.clone() }, "hidden"),
        (TrainConfig { epochs: 0, ..base.clone() }, "epochs"),
        (TrainConfig { batch_size: Some(0), ..base.clone() }, "batch_size"),
        (TrainConfig { patience: Some(0), ..base.clone() }, "patience"),
        (TrainConfig { optimizer: sgd(f32::NAN, 0.9), ..base.clone() }, "learning_rate"),
        (TrainConfig { optimizer: sgd(-0.1, 0.9), ..base.clone() }, "learning_rate"),
        (TrainConfig { optimizer: sgd(0.0, 0.9), ..base.clone() }, "learning_rate"),
        (TrainConfig { optimizer: sgd(f32::INFINITY, 0.9), ..base.clone() }, "learning_rate"),
        (TrainConfig { optimizer: sgd(0.1, 1.5), ..base.clone() }, "momentum"),
        (TrainConfig { optimizer: sgd(0.1, 1.0), ..base.clone() }, "momentum"),
        (TrainConfig { optimizer: sgd(0.1, -0.1), ..base.clone() }, "momentum"),
        (TrainConfig { optimizer: sgd(0.1, f32::NAN), ..base.clone() }, "momentum"),
        (TrainConfig { velocity_init: f32::NAN, ..base.clone() }, "velocity_init"),
        (TrainConfig { velocity_init: f32::NEG_INFINITY, ..base.clone() }, "velocity_init"),
    ];
    for (config, field) in &cases {
        assert_eq!(config.validate().unwrap_err(), run(&split, config).unwrap_err(), "{field}");
        let error = run(&split, config).unwrap_err();
        assert_eq!((error.kind(), error.setting()), (ErrorKind::BadSetting, Some(*field)), "{error}");
        let fix = error.fix_text().unwrap_or("");
        assert!(error.message().contains(field) && fix.contains(field), "{error}");
        assert!(!error.to_string().contains("--"), "library errors name no flags: {error}");
    }
    assert_eq!(base.validate(), Ok(()));
    assert_eq!(TrainConfig::default().validate(), Ok(()));
    // The edges of the ranges are valid.
    let edges = TrainConfig { optimizer: sgd(f32::MIN_POSITIVE, 0.0), batch_size: Some(1), patience: Some(1), ..base };
    assert!(run(&split, &edges).is_ok());
}

#[test]
fn splits_and_sizes_train_cannot_run_are_errors() {
    let config = TrainConfig { hidden: 8, epochs: 1, ..TrainConfig::default() };
    let no_valid = Dataset::synthetic(100, 1).into_split(80, 0, 1).unwrap();
    let error = run(&no_valid, &config).unwrap_err();
    assert_eq!((error.kind(), error.setting()), (ErrorKind::BadSplit, Some("valid")));
    assert!(!error.to_string().contains("--split"), "{error}");
    // Parts that do not add up, a label past the classes: hand-made splits.
    let split = small_split();
    let uneven = Split { test: split.test + 1, ..split.clone() };
    assert_eq!(run(&uneven, &config).unwrap_err().kind(), ErrorKind::BadShape);
    let mut bad_label = split.clone();
    bad_label.labels[3] = 10;
    assert_eq!(run(&bad_label, &config).unwrap_err().kind(), ErrorKind::LabelOutOfRange);
    // A network no machine holds: an error, not an abort or an overflow.
    for hidden in [usize::MAX, usize::MAX / 1000, 1 << 40] {
        let error = run(&split, &TrainConfig { hidden, ..config.clone() }).unwrap_err();
        assert_eq!((error.kind(), error.setting()), (ErrorKind::TooLarge, Some("hidden")), "{hidden}");
    }
    // Dataset::split says what fits in the library's words.
    let error = Dataset::synthetic(100, 1).split(90, 20, 1).unwrap_err();
    assert_eq!((error.kind(), error.setting()), (ErrorKind::BadSplit, Some("split")));
    assert!(error.fix_text().unwrap().contains("train 60, valid 20"), "{error}");
    assert!(!error.to_string().contains("--"), "{error}");
}

#[test]
fn predict_and_predict_proba_agree_with_each_other_and_with_the_run() {
    let split = small_split();
    let config = TrainConfig { hidden: 24, epochs: 20, ..TrainConfig::default() };
    let outcome = run(&split, &config).unwrap();
    let network = &outcome.network;
    let test_images = &split.images[(split.train + split.valid) * split.features..];
    let test_labels = &split.labels[split.train + split.valid..];
    let classes = network.predict(test_images).unwrap();
    let probabilities = network.predict_proba(test_images).unwrap();
    assert_eq!((classes.len(), probabilities.len()), (split.test, split.test * 10));
    for (p, &class) in probabilities.chunks_exact(10).zip(&classes) {
        let first_max = (0..10).fold(0, |best, j| if p[j] > p[best] { j } else { best });
        assert_eq!(usize::from(class), first_max);
    }
    // As many right as the run's test accuracy of the same parameters says,
    // and the same classes as the run's own test predictions.
    let right = classes.iter().zip(test_labels).filter(|(c, y)| c == y).count();
    let test = outcome.model_metrics[2];
    assert_eq!(right as f64 / split.test as f64, test.accuracy);
    assert!(right * 10 > split.test * 3, "20 epochs learn something: {right} of {}", split.test);
    let from_run: Vec<u8> = outcome.test_predictions.iter().map(|p| p.class).collect();
    assert_eq!(from_run, classes);
    for (q, p) in outcome.test_predictions.iter().zip(probabilities.chunks_exact(10)) {
        assert_eq!(q.probability, p[usize::from(q.class)]);
    }
}
