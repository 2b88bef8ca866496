//! Reading one regular file out of a `tar` stream.
//!
//! `tar -cf - FILE` is the one program on every POSIX host that prints a
//! file's mode, owner, group and size *and* its content. Reading a file
//! through it costs the host one process where `stat` then `cat` cost two,
//! and each process started on the host is what a task mostly costs.

/// The file a tar stream holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TarFile<'a> {
    pub(crate) mode: u32,
    pub(crate) owner: String,
    pub(crate) group: String,
    pub(crate) content: &'a [u8],
}

const BLOCK: usize = 512;

/// The first regular file in `stream`, skipping GNU long-name and pax
/// extension headers; `None` for anything else or a malformed stream.
pub(crate) fn first_file(stream: &[u8]) -> Option<TarFile<'_>> {
    let mut offset = 0;
    loop {
        let header = stream.get(offset..offset + BLOCK)?;
        if !header[257..262].eq(b"ustar") {
            return None;
        }
        let size = usize::try_from(octal(&header[124..136])?).ok()?;
        let data = offset + BLOCK;
        match header[156] {
            // GNU long names and links, pax headers: metadata about the next entry.
            b'L' | b'K' | b'x' | b'g' => {
                offset = data + size.div_ceil(BLOCK) * BLOCK;
            }
            b'0' | 0 => {
                let name = |field: &[u8], id: &[u8]| {
                    let text = text(field);
                    if text.is_empty() {
                        octal(id).map_or_else(String::new, |id| id.to_string())
                    } else {
                        text
                    }
                };
                return Some(TarFile {
                    mode: u32::try_from(octal(&header[100..108])? & 0o7777).ok()?,
                    owner: name(&header[265..297], &header[108..116]),
                    group: name(&header[297..329], &header[116..124]),
                    content: stream.get(data..data + size)?,
                });
            }
            _ => return None,
        }
    }
}

/// One regular file's entry in a tar stream: its name as tar wrote it (no
/// leading `/`), and the bytes of its headers and content, which
/// [`first_file`] reads on their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) bytes: std::ops::Range<usize>,
}

/// Every entry of a stream of regular files, in order, up to the end
/// marker; `None` for anything else or a malformed stream.
pub(crate) fn entries(stream: &[u8]) -> Option<Vec<Entry>> {
    let mut found = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    let mut long_name = None;
    loop {
        let header = stream.get(offset..offset + BLOCK)?;
        if header.iter().all(|byte| *byte == 0) {
            return Some(found);
        }
        if !header[257..262].eq(b"ustar") {
            return None;
        }
        let size = usize::try_from(octal(&header[124..136])?).ok()?;
        let data = offset + BLOCK;
        let next = data + size.div_ceil(BLOCK) * BLOCK;
        match header[156] {
            b'L' => long_name = Some(text(stream.get(data..data + size)?)),
            b'0' | 0 => {
                let name = long_name.take().unwrap_or_else(|| {
                    let prefix = text(&header[345..500]);
                    let name = text(&header[..100]);
                    if prefix.is_empty() {
                        name
                    } else {
                        format!("{prefix}/{name}")
                    }
                });
                found.push(Entry {
                    name,
                    bytes: start..next,
                });
                start = next;
            }
            // pax headers and anything else: not a stream this reads.
            _ => return None,
        }
        offset = next;
    }
}

/// An octal number field: digits, ended by a space or NUL.
fn octal(field: &[u8]) -> Option<u64> {
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|byte| *byte == b' ')
        .take_while(u8::is_ascii_digit)
        .collect();
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(std::str::from_utf8(&digits).ok()?, 8).ok()
}

fn text(field: &[u8]) -> String {
    let end = field
        .iter()
        .position(|byte| *byte == 0)
        .unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::process::Command;

    use super::{entries, first_file};

    fn tar_of(path: &std::path::Path) -> Vec<u8> {
        let output = Command::new("tar")
            .args(["-b", "1", "-cf", "-", "--"])
            .arg(path)
            .output()
            .expect("tar runs");
        assert!(output.status.success());
        output.stdout
    }

    #[test]
    fn a_file_read_through_tar_keeps_its_mode_owner_and_bytes() {
        let directory = tempfile::tempdir().expect("a directory");
        let path = directory.path().join("settings");
        let content = b"port=8080\n\0binary\xff and no final newline";
        std::fs::write(&path, content).expect("written");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let stream = tar_of(&path);
        let file = first_file(&stream).expect("a file");
        assert_eq!(file.mode, 0o640);
        assert_eq!(file.content, content);
        let user = Command::new("id").arg("-un").output().expect("id");
        assert_eq!(file.owner, String::from_utf8_lossy(&user.stdout).trim());
    }

    #[test]
    fn long_names_and_empty_files_are_read() {
        let directory = tempfile::tempdir().expect("a directory");
        let deep = directory.path().join("a".repeat(120));
        std::fs::create_dir_all(&deep).expect("a long directory");
        let path = deep.join("b".repeat(90));
        std::fs::write(&path, b"").expect("written");
        let stream = tar_of(&path);
        let file = first_file(&stream).expect("a file behind a long-name header");
        assert!(file.content.is_empty());
        assert_eq!(first_file(b"not a tar stream"), None);
    }

    #[test]
    fn a_stream_of_several_files_splits_into_entries_each_read_alone() {
        let directory = tempfile::tempdir().expect("a directory");
        let short = directory.path().join("short");
        let long = directory.path().join("c".repeat(130));
        std::fs::write(&short, b"one").expect("written");
        std::fs::write(&long, vec![b'x'; 1500]).expect("written");
        let empty = directory.path().join("empty");
        std::fs::write(&empty, b"").expect("written");
        let output = Command::new("tar")
            .args(["-b", "1", "-cf", "-", "--"])
            .args([&short, &long, &empty])
            .output()
            .expect("tar runs");
        let found = entries(&output.stdout).expect("entries");
        let names: Vec<&str> = found.iter().map(|entry| entry.name.as_str()).collect();
        let plain =
            |path: &std::path::Path| path.to_string_lossy().trim_start_matches('/').to_owned();
        assert_eq!(names, [plain(&short), plain(&long), plain(&empty)]);
        let contents: Vec<usize> = found
            .iter()
            .map(|entry| {
                first_file(&output.stdout[entry.bytes.clone()])
                    .expect("alone")
                    .content
                    .len()
            })
            .collect();
        assert_eq!(contents, [3, 1500, 0]);
        assert_eq!(entries(b"not a tar stream"), None);
        // The same file twice is a hard link the second time: not read.
        let output = Command::new("tar")
            .args(["-b", "1", "-cf", "-", "--"])
            .args([&short, &short])
            .output()
            .expect("tar runs");
        assert_eq!(entries(&output.stdout), None);
    }
}
