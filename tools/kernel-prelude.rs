// fashion-lab kernel (tools/evcxr-kernel.sh copies this to the kernel's prelude.rs, which evcxr runs
// once it has started, after init.evcxr): a cell ending in a value compiles once, not twice.
//
// evcxr shows a cell's last value by first compiling `(value).evcxr_display();`, and when that
// fails (most types have no such method), compiling again with `{:?}`. This trait gives every
// Debug type that method, printing what evcxr's second try would (text/plain, `{:?}`). Types with
// an inherent evcxr_display (fashion-lab's Figure and Table) keep theirs: inherent methods come
// first. Other values (no Debug) fail the first try as before and get evcxr's own message.
// Being defined here, in the kernel's session, it is in scope in every cell of every notebook.
// evcxr's `:fmt` and `:types` no longer change how such values print.
pub trait EvcxrDisplayDebug {
    fn evcxr_display(&self);
}
impl<T: std::fmt::Debug + ?Sized> EvcxrDisplayDebug for T {
    fn evcxr_display(&self) {
        println!("EVCXR_BEGIN_CONTENT text/plain\n{self:?}\nEVCXR_END_CONTENT");
    }
}
