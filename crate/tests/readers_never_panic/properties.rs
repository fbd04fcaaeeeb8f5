//! The properties: Ok or Err on any bytes, never a panic or an oversized allocation.

use super::*;

// ---------------------------------------------------------------------------------------------
// The properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn idx_parsers_on_arbitrary_bytes(bytes in arbitrary_bytes()) {
        idx_readers(&bytes)?;
    }

    #[test]
    fn idx_parsers_on_headers_claiming_any_sizes(bytes in idx_claiming_any_sizes()) {
        idx_readers(&bytes)?;
    }

    #[test]
    fn idx_parsers_on_mutated_real_images(bytes in mutated(&real().images_two)) {
        idx_readers(&bytes)?;
    }

    #[test]
    fn idx_parsers_on_mutated_real_header_claiming_60000_images(
        bytes in mutated(&real().images_short),
    ) {
        idx_readers(&bytes)?;
    }

    #[test]
    fn idx_parsers_on_mutated_real_labels(
        bytes in prop_oneof![mutated(&real().labels_hundred), mutated(&real().labels_short)],
    ) {
        idx_readers(&bytes)?;
    }

    #[test]
    fn gunzip_on_arbitrary_bytes(
        bytes in prop_oneof![
            arbitrary_bytes(),
            // Past the magic, so that the gzip decoder itself is reached.
            arbitrary_bytes().prop_map(|b| [&[0x1f, 0x8b][..], &b].concat()),
        ],
    ) {
        gzip_then_idx(&bytes)?;
    }

    #[test]
    fn gunzip_on_mutated_real_gzip(
        bytes in prop_oneof![mutated(&real().images_two_gz), mutated(&real().real_gz_start)],
    ) {
        gzip_then_idx(&bytes)?;
    }

    #[test]
    fn gunzip_on_cut_gzip_of_headers_claiming_any_sizes(
        bytes in idx_claiming_any_sizes(),
        keep in any::<Index>(),
    ) {
        // Cut anywhere in the stream: the truncation is reported with what the header claims.
        let mut compressed = gzipped(&bytes);
        compressed.truncate(keep.index(compressed.len() + 1));
        gzip_then_idx(&compressed)?;
    }

    #[test]
    fn csv_reader_on_arbitrary_bytes(bytes in arbitrary_bytes()) {
        csv_reader(&bytes)?;
    }

    #[test]
    fn csv_reader_on_mutated_real_csv(bytes in mutated(&real().csv)) {
        csv_reader(&bytes)?;
    }

    #[test]
    fn csv_reader_on_real_csv_with_fields_replaced(
        fields in prop::collection::vec((any::<Index>(), csv_field()), 1..4),
    ) {
        // Whole values swapped for odd ones: the parsing of numbers is reached, not just the
        // splitting into columns.
        let text = String::from_utf8(real().csv.clone()).expect("the CSV is text");
        let mut values: Vec<String> = text.split(',').map(str::to_string).collect();
        for (at, field) in fields {
            let i = at.index(values.len());
            // Keep the line breaks that end rows.
            let tail = values[i].find('\n').map(|n| values[i][n..].to_string()).unwrap_or_default();
            values[i] = format!("{field}{tail}");
        }
        csv_reader(values.join(",").as_bytes())?;
    }

    #[test]
    fn model_reader_on_arbitrary_bytes(
        bytes in prop_oneof![
            arbitrary_bytes(),
            // A plausible header length first, so that the header's JSON is reached.
            (0u64..2048, arbitrary_bytes())
                .prop_map(|(n, b)| [&n.to_le_bytes()[..], &b].concat()),
        ],
    ) {
        model_reader(&bytes)?;
    }

    #[test]
    fn model_reader_on_mutated_real_model(bytes in mutated(&real().model)) {
        model_reader(&bytes)?;
    }

    #[test]
    fn model_reader_on_any_architecture(spec in architecture()) {
        model_reader(&model_file_with(&spec))?;
    }

    #[test]
    fn model_reader_reads_back_every_small_model_it_saves(spec in small_architecture()) {
        // The reader's checks reject no real file: what builds, saves and loads, and predicts
        // the same.
        let Ok(model) = spec.build(7) else {
            return Ok(());
        };
        let dir = temp_dir("round-trip");
        let path = dir.join(format!("{:?}.safetensors", std::thread::current().id()));
        model.save(&path).expect("save");
        let bytes = std::fs::read(&path).expect("read");
        std::fs::remove_file(&path).ok();
        let loaded = Model::load_from_bytes(&bytes, &path);
        prop_assert!(loaded.is_ok(), "{spec:?}: {:?}", loaded.err());
        let inputs: usize = spec.input_shape.iter().product();
        let x = Array2::from_shape_fn((2, inputs), |(i, j)| ((i * 31 + j * 7) % 256) as f32);
        prop_assert_eq!(
            loaded.expect("loaded").predict_proba(&x).expect("proba"),
            model.predict_proba(&x).expect("proba")
        );
    }

    #[test]
    fn model_reader_on_tensors_claiming_any_shapes(
        entries in prop::collection::vec(tensor_entry(), 1..4),
        data in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let (mut header, _) = real_model_parts();
        for (i, entry) in entries.into_iter().enumerate() {
            header[format!("weight.{i:04}")] = entry;
        }
        model_reader(&safetensors_file(&header, &data))?;
    }
}
