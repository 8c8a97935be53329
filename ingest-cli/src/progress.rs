//! Progress on stderr, only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Inputs smaller than this finish too fast for a bar to help.
const MIN_BYTES_FOR_BAR: u64 = 32 * 1024 * 1024;

/// A byte progress bar for an input of `total` bytes (`None`: unknown, as for stdin), or a
/// hidden one when stderr is not a terminal, `quiet` is set, or the input is small.
pub fn bytes_bar(total: Option<u64>, quiet: bool) -> ProgressBar {
    let shown =
        !quiet && std::io::stderr().is_terminal() && total.is_none_or(|t| t >= MIN_BYTES_FOR_BAR);
    if !shown {
        return ProgressBar::hidden();
    }
    match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .expect("valid template"),
            ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec}")
                .expect("valid template"),
        ),
    }
}

/// [`bytes_bar`] for work in several inputs: the bar counts bytes, its message the inputs done
/// (set by the caller).
pub fn bytes_and_inputs_bar(total: u64, quiet: bool) -> ProgressBar {
    let bar = bytes_bar(Some(total), quiet);
    if !bar.is_hidden() {
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}  {msg}",
            )
            .expect("valid template"),
        );
    }
    bar
}
