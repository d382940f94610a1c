//! Builds the two small C files: the printf-style functions (stable Rust cannot define C
//! variadic functions) and a weak symbol that lets libreadyd.a link into C programs.
//! Everything else is Rust.
fn main() {
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-changed=src/static-link.c");
    println!("cargo:rerun-if-changed=include/readyd.h");
    cc::Build::new()
        .file("src/shim.c")
        .file("src/static-link.c")
        .flag_if_supported("-std=c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("readyd_shim");
}
