//! The `orderdesk` command: parse the command line, hand over to the library.

fn main() -> std::process::ExitCode {
    orderdesk::cli::main()
}
