/* Makes libreadyd.a linkable into a plain C program.
 *
 * Rust's precompiled core library is built for unwinding, so a few of its objects keep a
 * reference to the unwinding personality routine even in our panic=abort, no_std build.
 * A linker that does not drop unused sections (the default) then wants that symbol.
 * readyd never unwinds, so the routine is never called: this weak definition only
 * satisfies the reference, and gives way to the real one when the program also links a
 * Rust library built with std. The shared library keeps it local (see the version scripts in include/). */
void rust_eh_personality(void);
__attribute__((weak)) void rust_eh_personality(void)
{
}
