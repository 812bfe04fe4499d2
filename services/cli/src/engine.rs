//! `earshot-engine`: the `earshot` commands that need the model runtime (`serve`, `classify`, `eval`; the
//! others too), with `earshot-onnx` linked in. `earshot` execs it with its own arguments (ADR 0007).

fn main() -> anyhow::Result<()> {
    // ort reads ORT_DYLIB_PATH when it first loads; point it at the runtime scripts/runtime.sh installed.
    // Done here, before any other thread exists.
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        if let Some(path) = earshot_onnx::find_onnxruntime() {
            std::env::set_var("ORT_DYLIB_PATH", path);
        }
    }
    earshot_cli::engine_main(earshot_onnx::load)
}
