//! What `--port` names: a serial device, an agent behind TCP, or a simulated
//! Pico inside ota with its flash kept in a file.

use std::fmt;
use std::path::PathBuf;

use crate::exit::{fail, Kind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// `/dev/ttyACM0`, `COM3`.
    Serial(String),
    /// `tcp:HOST:PORT`.
    Tcp(String),
    /// `sim:FILE`, optionally `sim:FILE?no-auto-confirm` to play an
    /// application that never confirms its trial version.
    Sim { image: PathBuf, auto_confirm: bool },
}

impl PortSpec {
    pub fn parse(s: &str) -> anyhow::Result<PortSpec> {
        if let Some(rest) = s.strip_prefix("tcp:") {
            let ok = rest
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
            if !ok {
                return Err(fail(
                    Kind::Config,
                    format!("port `{s}`: expected tcp:HOST:PORT"),
                ));
            }
            return Ok(PortSpec::Tcp(rest.to_string()));
        }
        if let Some(rest) = s.strip_prefix("sim:") {
            let (file, auto_confirm) = match rest.strip_suffix("?no-auto-confirm") {
                Some(f) => (f, false),
                None => (rest, true),
            };
            if file.is_empty() {
                return Err(fail(Kind::Config, format!("port `{s}`: expected sim:FILE")));
            }
            return Ok(PortSpec::Sim {
                image: PathBuf::from(file),
                auto_confirm,
            });
        }
        if s.is_empty() {
            return Err(fail(Kind::Config, "port is empty"));
        }
        Ok(PortSpec::Serial(s.to_string()))
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSpec::Serial(p) => f.write_str(p),
            PortSpec::Tcp(a) => write!(f, "tcp:{a}"),
            PortSpec::Sim {
                image,
                auto_confirm,
            } => {
                write!(f, "sim:{}", image.display())?;
                if !auto_confirm {
                    f.write_str("?no-auto-confirm")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(
            PortSpec::parse("/dev/ttyACM0").unwrap(),
            PortSpec::Serial("/dev/ttyACM0".into())
        );
        assert_eq!(
            PortSpec::parse("COM3").unwrap(),
            PortSpec::Serial("COM3".into())
        );
        assert_eq!(
            PortSpec::parse("tcp:127.0.0.1:4000").unwrap(),
            PortSpec::Tcp("127.0.0.1:4000".into())
        );
        assert_eq!(
            PortSpec::parse("sim:pico.img?no-auto-confirm").unwrap(),
            PortSpec::Sim {
                image: "pico.img".into(),
                auto_confirm: false
            }
        );
        assert!(PortSpec::parse("tcp:nohost").is_err());
        assert!(PortSpec::parse("sim:").is_err());
    }
}
