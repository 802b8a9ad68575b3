//! Progress bars for long imports and exports, shown only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use zczk_core::import::Progress;

/// A progress display, or nothing when stderr is not a terminal.
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// A new display, drawn only on a terminal.
    pub fn new() -> Bar {
        Bar(std::io::stderr()
            .is_terminal()
            .then(|| ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())))
    }

    /// Shows an import's progress.
    pub fn import(&self, progress: Progress) {
        let Some(bar) = &self.0 else { return };
        match progress {
            // Reading goes on while writing; once writing shows, it is what the bar shows.
            Progress::Read(_) if bar.length().is_some() => {}
            Progress::Read(n) => {
                bar.set_style(
                    ProgressStyle::with_template("{spinner} reading: {pos} nodes").expect("template"),
                );
                bar.set_position(n as u64);
            }
            Progress::Written { done, total } => {
                if bar.length() != Some(total as u64) {
                    bar.set_style(
                        ProgressStyle::with_template("{bar:40} writing: {pos}/{len} nodes")
                            .expect("template"),
                    );
                    bar.set_length(total as u64);
                }
                bar.set_position(done as u64);
            }
        }
    }

    /// Clears the display.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
