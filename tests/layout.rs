//! The host's layout rules, held by reading the source: no command module
//! imports another (shared code lives in the library, or in the commands'
//! own helpers `report`, `render` and `advice`), the device layer chooses no
//! exit code, and no function in `src/` is longer than a screen.

use std::path::{Path, PathBuf};

const SCREEN: usize = 80;
const HELPERS: &[&str] = &["report", "render", "advice"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src(sub: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(sub),
        &mut out,
    );
    out.sort();
    out
}

/// A line with string and char literals and the comment taken out, for counting braces.
fn code_of(line: &str) -> String {
    let (mut out, mut chars) = (String::new(), line.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '\'' if matches!(chars.clone().nth(1), Some('\'')) => {
                chars.nth(1);
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => out.push(c),
        }
    }
    out
}

/// Each function's name and length in lines, from its `fn` line to its closing brace.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = code_of(line);
        let Some(at) = code.find("fn ") else { continue };
        let head = &code[..at];
        let keywords = ["pub", "pub(crate)", "async", "const", "unsafe", "extern"];
        let is_fn = head.split_whitespace().all(|w| keywords.contains(&w));
        if !is_fn || code.trim_end().ends_with(';') {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut started) = (0i64, false);
        for (j, l) in lines.iter().enumerate().skip(i) {
            let c = code_of(l);
            depth += c.matches('{').count() as i64 - c.matches('}').count() as i64;
            started |= c.contains('{');
            if started && depth <= 0 {
                out.push((name.clone(), i + 1, j - i + 1));
                break;
            }
        }
    }
    out
}

#[test]
fn no_function_in_src_is_longer_than_a_screen() {
    let mut long = Vec::new();
    for p in src("") {
        let text = std::fs::read_to_string(&p).unwrap();
        for (name, line, len) in functions(&text) {
            if len > SCREEN {
                long.push(format!("{}:{line}: {name} is {len} lines", p.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these into named steps:\n{}",
        long.join("\n")
    );
}

#[test]
fn no_command_module_imports_another() {
    let commands: Vec<String> = src("commands")
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "mod" && !HELPERS.contains(&n.as_str()))
        .collect();
    let mut found = Vec::new();
    for p in src("commands") {
        let text = std::fs::read_to_string(&p).unwrap();
        for other in &commands {
            for pattern in [format!("super::{other}::"), format!("commands::{other}::")] {
                if text.contains(&pattern) || text.contains(&format!("super::{{{other}")) {
                    found.push(format!("{} uses {pattern}", p.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_device_layer_chooses_no_exit_code() {
    for p in src("device") {
        let text = std::fs::read_to_string(&p).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = code_of(line);
            assert!(
                !code.contains("exit::"),
                "{}:{}: device code names exit:: (return a DeviceError instead)",
                p.display(),
                i + 1
            );
        }
    }
}

#[test]
fn the_function_count_reads_nested_braces_and_strings() {
    let text = "fn a() {\n    let s = \"{\";\n    if x { y() }\n}\nfn b();\n";
    assert_eq!(functions(text), vec![("a".to_string(), 1, 4)]);
}
