//! What the fuzz targets share: models of the spec's rules (`model`), the process state
//! they control around each call (`sandbox`), and the system's libsystemd loaded with
//! dlopen (`reference`).

pub mod model;
pub mod reference;
pub mod sandbox;

/// A NULL-terminated, malloc'ed array of malloc'ed strings (what
/// `sd_listen_fds_with_names` returns) as owned bytes; the array is freed.
///
/// # Safety
/// `names` came from `sd_listen_fds_with_names` (either library) and is not used again.
pub unsafe fn take_names(names: *mut *mut std::os::raw::c_char) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    // SAFETY: the caller's contract: a NULL-terminated array of C strings from malloc.
    unsafe {
        let mut p = names;
        while !(*p).is_null() {
            out.push(std::ffi::CStr::from_ptr(*p).to_bytes().to_vec());
            libc::free((*p).cast());
            p = p.add(1);
        }
        libc::free(names.cast());
    }
    out
}
