//! Reports for CI over many devices: one JSON document with a record per
//! device, a summary line per failure, and a JUnit XML file CI systems show.

use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

use crate::exit::{fail, kind_of, Kind};

/// What happened on one device.
pub struct Outcome {
    pub device: String,
    pub port: String,
    pub result: Result<Value>,
}

impl Outcome {
    pub fn record(&self) -> Value {
        match &self.result {
            Ok(doc) => {
                let mut d = doc.clone();
                d["device"] = json!(self.device);
                d
            }
            Err(e) => json!({
                "device": self.device,
                "port": self.port,
                "result": "failed",
                "kind": kind_of(e).map(|k| k.name()),
                "error": super::advice::describe(e),
            }),
        }
    }
}

/// The JSON document for many devices.
pub fn document(command: &str, outcomes: &[Outcome]) -> Value {
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    json!({
        "command": command,
        "devices": outcomes.iter().map(Outcome::record).collect::<Vec<_>>(),
        "succeeded": outcomes.len() - failed,
        "failed": failed,
    })
}

/// The error to exit with when some devices failed: it names each failure,
/// and takes the exit code of the first.
pub fn failures(outcomes: &[Outcome]) -> Option<anyhow::Error> {
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    let first = failed.first()?;
    let kind = first
        .result
        .as_ref()
        .err()
        .and_then(kind_of)
        .unwrap_or(Kind::Device);
    let lines: Vec<String> = failed
        .iter()
        .map(|o| {
            format!(
                "  {}: {:#}",
                o.device,
                o.result
                    .as_ref()
                    .err()
                    .map_or(String::new(), super::advice::describe)
            )
        })
        .collect();
    Some(fail(
        kind,
        format!(
            "{} of {} devices failed:\n{}",
            failed.len(),
            outcomes.len(),
            lines.join("\n")
        ),
    ))
}

fn xml(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Writes a JUnit XML report: one test suite, one test case per device.
pub fn write_junit(path: &Path, suite: &str, outcomes: &[Outcome], seconds: f64) -> Result<()> {
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"ota\" tests=\"{}\" failures=\"{failed}\" time=\"{seconds:.3}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" time=\"{seconds:.3}\">\n",
        outcomes.len(),
        xml(suite),
        outcomes.len()
    ));
    for o in outcomes {
        let secs = o
            .result
            .as_ref()
            .ok()
            .and_then(|d| d["seconds"].as_f64())
            .unwrap_or(0.0);
        x.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{secs:.3}\">\n",
            xml(suite),
            xml(&o.device)
        ));
        match &o.result {
            Ok(doc) => {
                let summary = format!(
                    "{} on {}: {} -> {}, {} bytes sent",
                    doc["result"].as_str().unwrap_or("?"),
                    o.port,
                    doc["from_version"].as_str().unwrap_or("(empty)"),
                    doc["to_version"].as_str().unwrap_or("?"),
                    doc["bytes_sent"].as_u64().unwrap_or(0)
                );
                x.push_str(&format!(
                    "      <system-out>{}</system-out>\n",
                    xml(&summary)
                ));
            }
            Err(e) => {
                let kind = kind_of(e).map_or("error", |k| k.name());
                x.push_str(&format!(
                    "      <failure type=\"{kind}\" message=\"{}\">{}</failure>\n",
                    xml(&format!("{e}")),
                    xml(&format!("{} (port {})", super::advice::describe(e), o.port))
                ));
            }
        }
        x.push_str("    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    let tmp = path.with_extension("xml.part");
    std::fs::write(&tmp, x).map_err(|e| fail(Kind::Config, format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| fail(Kind::Config, format!("{}: {e}", path.display())))?;
    Ok(())
}

/// The devices to work on, or, when none was found, that failure also
/// written to the JUnit file: a CI job that asked for a report gets one,
/// with the run failed in it, rather than no file at all.
pub fn targets_or_junit(
    targets: Result<Vec<super::Target>>,
    junit: Option<&Path>,
    suite: &str,
    seconds: f64,
) -> Result<Vec<super::Target>> {
    let (Err(e), Some(path)) = (&targets, junit) else {
        return targets;
    };
    let none = Outcome {
        device: "(no device)".to_string(),
        port: "none found".to_string(),
        result: Err(fail(kind_of(e).unwrap_or(Kind::Device), format!("{e:#}"))),
    };
    write_junit(path, suite, std::slice::from_ref(&none), seconds)?;
    targets
}

/// Ends a command run on one device or many: one device prints its own
/// document; several get a record each, and an error naming every failure.
pub fn finish(json: bool, multi: bool, command: &str, outcomes: Vec<Outcome>) -> Result<()> {
    if !multi {
        let o = outcomes.into_iter().next().expect("one device");
        let doc = o.result?;
        return if json {
            super::print_json(&doc)
        } else {
            Ok(())
        };
    }
    if json {
        super::print_json(&document(command, &outcomes))?;
    }
    match failures(&outcomes) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
