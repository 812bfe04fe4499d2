//! `earshot`: every client command in-process; `serve`, `classify` and `eval` by `exec` of `earshot-engine`,
//! the binary that links the model runtime (ADR 0007).

fn main() -> anyhow::Result<()> {
    earshot_cli::client_main()
}
