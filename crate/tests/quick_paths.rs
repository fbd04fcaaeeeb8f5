//! Quick mode never writes where a full run's results and models live, in Lab too (where no
//! runner sets FASHION_LAB_REPORTS / FASHION_LAB_MODELS). One test: it changes the environment.

use std::path::PathBuf;

#[test]
fn quick_mode_writes_beside_not_over_the_full_results() {
    for var in ["FASHION_LAB_REPORTS", "FASHION_LAB_MODELS"] {
        std::env::remove_var(var);
    }
    std::env::remove_var("FASHION_LAB_QUICK");
    assert_eq!(
        fashion_lab::report_file("01.results.json"),
        PathBuf::from("../reports/01.results.json")
    );
    assert_eq!(
        fashion_lab::model_file("02-deep-cnn.safetensors"),
        PathBuf::from("../models/02-deep-cnn.safetensors")
    );

    std::env::set_var("FASHION_LAB_QUICK", "1");
    assert_eq!(
        fashion_lab::report_file("01.results.json"),
        PathBuf::from("../reports/quick/01.results.json")
    );
    assert_eq!(
        fashion_lab::model_file("02-deep-cnn.safetensors"),
        PathBuf::from("../models/quick/02-deep-cnn.safetensors")
    );

    // The runner's folders win (make test puts a quick run's files in target/notebooks-quick).
    std::env::set_var("FASHION_LAB_REPORTS", "/tmp/out");
    std::env::set_var("FASHION_LAB_MODELS", "/tmp/out/models");
    assert_eq!(
        fashion_lab::report_file("x.json"),
        PathBuf::from("/tmp/out/x.json")
    );
    assert_eq!(
        fashion_lab::model_file("m.safetensors"),
        PathBuf::from("/tmp/out/models/m.safetensors")
    );
}
