//! The `c3` binary: parse the command line, set up logging and the runtime,
//! run the command, print the error chain, return the exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match c3::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; every usage error exits 1
            // (2 means "differences" under --detailed-exitcode).
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let printer =
        c3::render::Printer::terminal(cli.global.color, cli.global.quiet, cli.global.progress);
    // Log lines are coloured as the printer colours stderr.
    c3::logging::init(
        cli.global.verbose,
        cli.global.quiet,
        printer.err_style.color,
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(c3::commands::run(cli, &printer)) {
        Ok(status) => status.into(),
        Err(e) => {
            let broken_pipe = e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            printer.error(&format!("{e:#}"));
            ExitCode::from(1)
        }
    }
}
