//! Reading input files (`-` meaning stdin) and writing to stdout.

use std::io::Read;

use super::CliError;

/// The form of a command's data output (`export --format`, `walk --output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Text for people (tree text, one path a line, ...).
    Text,
    /// JSON for tools.
    Json,
}

/// The tree text of `file`, or of stdin when `file` is `-`. Bytes that are not UTF-8 are an
/// error at their line and column.
pub fn read_text(file: &str) -> Result<String, CliError> {
    let bytes = if file == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map_err(CliError::io("<stdin>"))?;
        bytes
    } else {
        std::fs::read(file).map_err(CliError::io(file))?
    };
    zczk_core::tree::decode_text(bytes).map_err(|error| CliError::Parse { file: file.to_string(), error })
}

/// Writes `text` to stdout. A closed pipe (`zczk export | head`) is not an error.
pub fn write_stdout(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::io("<stdout>")(e)),
        _ => Ok(()),
    }
}

/// Writes each line to stdout.
pub fn write_lines(lines: &[String]) -> Result<(), CliError> {
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    write_stdout(&text)
}
