//! What `--port` names: a serial device, an agent behind one TCP
//! connection, a serial port behind an RFC 2217 server, or a simulated Pico
//! inside ota with its flash kept in a file.

use std::fmt;

use crate::device::error;
use crate::device::sim::board_model::BoardModel;
use crate::device::sim::SimImage;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// `/dev/ttyACM0`, `COM3`.
    Serial(String),
    /// `tcp:HOST:PORT`: one plain connection.
    Tcp(String),
    /// `rfc2217://HOST:PORT`: RFC 2217, which also carries the touch.
    Rfc2217(String),
    /// `sim:FILE`, with options after a `?`, joined by `&`:
    /// `no-auto-confirm` plays an application that never confirms its trial
    /// version; `model=pico-w` (or `pico-w-block-erase`) keeps the time the
    /// same exchange would take on that board (see `board_model.rs`); `app`
    /// puts an application in the slot, which runs until touched at 1200 baud;
    /// `crash` makes that application fault at every start in trial;
    /// `sync` syncs the image to disk after every flash operation.
    Sim { image: SimImage, auto_confirm: bool },
}

impl PortSpec {
    pub fn parse(s: &str) -> anyhow::Result<PortSpec> {
        let host_port = |rest: &str, form: &str| {
            let ok = rest
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
            match ok {
                true => Ok(rest.to_string()),
                false => Err(error::bad_spec(format!(
                    "port `{s}`: expected {form}HOST:PORT"
                ))),
            }
        };
        if let Some(rest) = s.strip_prefix("tcp:") {
            return Ok(PortSpec::Tcp(host_port(rest, "tcp:")?));
        }
        if let Some(rest) = s.strip_prefix("rfc2217://") {
            return Ok(PortSpec::Rfc2217(host_port(rest, "rfc2217://")?));
        }
        if let Some(rest) = s.strip_prefix("sim:") {
            let (file, options) = rest.split_once('?').unwrap_or((rest, ""));
            if file.is_empty() {
                return Err(error::bad_spec(format!("port `{s}`: expected sim:FILE")));
            }
            let mut image = SimImage::new(file);
            let mut auto_confirm = true;
            for option in options.split('&').filter(|o| !o.is_empty()) {
                match option.split_once('=') {
                    None if option == "no-auto-confirm" => auto_confirm = false,
                    None if option == "app" => image.app = true,
                    None if option == "crash" => image.crash = true,
                    None if option == "sync" => image.durable = true,
                    Some(("model", name)) => {
                        let model = BoardModel::by_name(name).ok_or_else(|| {
                            let known: Vec<_> = BoardModel::ALL.iter().map(|m| m.name).collect();
                            error::bad_spec(format!(
                                    "port `{s}`: unknown board model `{name}`; expected {}",
                                    known.join(" or ")
                                ),
                            )
                        })?;
                        image = image.with_model(model);
                    }
                    _ => {
                        return Err(error::bad_spec(format!(
                                "port `{s}`: unknown option `{option}`; expected no-auto-confirm, app, crash, sync or model=NAME"
                            ),
                        ))
                    }
                }
            }
            return Ok(PortSpec::Sim {
                image,
                auto_confirm,
            });
        }
        if s.is_empty() {
            return Err(error::bad_spec("port is empty"));
        }
        Ok(PortSpec::Serial(s.to_string()))
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSpec::Serial(p) => f.write_str(p),
            PortSpec::Tcp(a) => write!(f, "tcp:{a}"),
            PortSpec::Rfc2217(a) => write!(f, "rfc2217://{a}"),
            PortSpec::Sim {
                image,
                auto_confirm,
            } => {
                write!(f, "sim:{}", image.display())?;
                let mut options = Vec::new();
                if !auto_confirm {
                    options.push("no-auto-confirm".to_string());
                }
                if image.app {
                    options.push("app".to_string());
                }
                if image.crash {
                    options.push("crash".to_string());
                }
                if image.durable {
                    options.push("sync".to_string());
                }
                if let Some(m) = &image.model {
                    options.push(format!("model={}", m.name));
                }
                if !options.is_empty() {
                    write!(f, "?{}", options.join("&"))?;
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
        assert_eq!(
            PortSpec::parse("rfc2217://lab-3.example:4001").unwrap(),
            PortSpec::Rfc2217("lab-3.example:4001".into())
        );
        assert_eq!(
            PortSpec::parse("rfc2217://10.0.0.2:4001")
                .unwrap()
                .to_string(),
            "rfc2217://10.0.0.2:4001"
        );
        assert!(PortSpec::parse("tcp:nohost").is_err());
        let e = PortSpec::parse("rfc2217://host").unwrap_err().to_string();
        assert!(e.contains("expected rfc2217://HOST:PORT"), "{e}");
        assert!(PortSpec::parse("sim:").is_err());
    }

    #[test]
    fn sim_options_name_a_board_model() {
        let p = PortSpec::parse("sim:pico.img?model=pico-w").unwrap();
        assert_eq!(
            p,
            PortSpec::Sim {
                image: SimImage::new("pico.img").with_model(BoardModel::PICO_W),
                auto_confirm: true
            }
        );
        assert_eq!(p.to_string(), "sim:pico.img?model=pico-w");
        let p = PortSpec::parse("sim:pico.img?model=pico-w-block-erase&no-auto-confirm").unwrap();
        let PortSpec::Sim {
            image,
            auto_confirm,
        } = &p
        else {
            panic!("{p:?}")
        };
        assert_eq!(image.model, Some(BoardModel::PICO_W_BLOCK_ERASE));
        assert!(!auto_confirm);
        assert_eq!(
            p.to_string(),
            "sim:pico.img?no-auto-confirm&model=pico-w-block-erase"
        );
        assert_eq!(PortSpec::parse(&p.to_string()).unwrap(), p);
        let e = PortSpec::parse("sim:x.img?model=esp32")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown board model `esp32`"), "{e}");
        let e = PortSpec::parse("sim:x.img?fast").unwrap_err().to_string();
        assert!(e.contains("unknown option `fast`"), "{e}");
        assert_eq!(
            PortSpec::parse("sim:pico.img").unwrap().to_string(),
            "sim:pico.img"
        );
    }

    #[test]
    fn sim_syncs_only_when_asked() {
        let sim = |s: &str| match PortSpec::parse(s).unwrap() {
            PortSpec::Sim { image, .. } => image,
            p => panic!("{p:?}"),
        };
        assert!(!sim("sim:pico.img").durable);
        let p = PortSpec::parse("sim:pico.img?sync&model=pico-w").unwrap();
        assert!(sim("sim:pico.img?sync&model=pico-w").durable);
        assert_eq!(p.to_string(), "sim:pico.img?sync&model=pico-w");
    }
}
