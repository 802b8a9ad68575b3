//! What the tests of `file:` stores look at on disk, for the emulator's tests and the CLI's alike.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::time::SystemTime;

/// What a test checks is left as it was: the bytes, the mode and the inode (a replaced file
/// gets a new one) and the modification time.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    bytes: Vec<u8>,
    mode: u32,
    inode: u64,
    mtime: SystemTime,
}

/// The [`Snapshot`] of the file at `path` (not following a symbolic link).
pub fn snapshot(path: &Path) -> Snapshot {
    let metadata = std::fs::symlink_metadata(path).unwrap();
    Snapshot {
        bytes: std::fs::read(path).unwrap(),
        mode: metadata.permissions().mode() & 0o7777,
        inode: metadata.ino(),
        mtime: metadata.modified().unwrap(),
    }
}

/// The permission bits of the file at `path`.
pub fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Sets the permission bits of the file at `path`.
pub fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The names in the directory `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
