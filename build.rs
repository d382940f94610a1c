//! Builds the C file holding the printf-style functions (stable Rust cannot define C
//! variadic functions). Everything else is Rust.
fn main() {
    println!("cargo:rerun-if-changed=src/shim.c");
    cc::Build::new()
        .file("src/shim.c")
        .flag_if_supported("-std=c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("readyd_shim");
}
