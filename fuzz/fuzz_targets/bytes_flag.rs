#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    iam_credentials_exporter_fuzz::check_bytes(data);
});
