//! What the command line prints: state and features as JSON, `list` and `ps` as runc
//! prints them (tables padded like its tabwriter, or JSON).

use libkapsel::container::{ps, query};
use libkapsel::state::dir::StateRoot;
use libkapsel::{Error, Result};
use std::io::Write;

pub fn print_json<T: serde::Serialize>(value: &T, pretty: bool) {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", text.unwrap_or_default());
}

pub fn list(root: &StateRoot, format: &str, quiet: bool) -> Result<()> {
    let all = query::list(root)?;
    let mut out = std::io::stdout().lock();
    if quiet {
        for (s, _) in &all {
            let _ = writeln!(out, "{}", s.id);
        }
        return Ok(());
    }
    match format {
        "json" => {
            let items: Vec<_> = all.iter().map(|(s, st)| s.oci(*st)).collect();
            let _ = writeln!(out, "{}", serde_json::to_string(&items).unwrap_or_default());
        }
        "table" => {
            let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
                .map(String::from)
                .to_vec()];
            for (s, st) in &all {
                let o = s.oci(*st);
                rows.push(vec![
                    s.id.clone(),
                    o.pid.to_string(),
                    st.to_string(),
                    s.bundle.display().to_string(),
                    s.created.clone(),
                    s.owner.clone(),
                ]);
            }
            let _ = out.write_all(table(&rows).as_bytes());
        }
        other => {
            return Err(Error::msg(format!(
                "list: unknown format `{other}` (table or json)"
            )))
        }
    }
    Ok(())
}

/// Columns padded like runc's tabwriter (minimum width 12, 3 spaces of padding).
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut s = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == cols {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        s.push('\n');
    }
    s
}

pub fn print_ps(root: &StateRoot, id: &str, format: &str, ps_args: &[String]) -> Result<()> {
    let pids = ps::pids(root, id)?;
    match format {
        "json" => {
            out(&serde_json::to_string(&pids).unwrap_or_default());
            Ok(())
        }
        "table" => {
            let args: Vec<String> = if ps_args.is_empty() {
                vec!["-ef".into()]
            } else {
                ps_args.to_vec()
            };
            let ps = ["/bin/ps", "/usr/bin/ps"]
                .into_iter()
                .find(|p| std::path::Path::new(p).exists())
                .unwrap_or("ps");
            let listing = std::process::Command::new(ps)
                .args(&args)
                .output()
                .map_err(|e| Error::io("run", ps, e).in_container(id, "ps"))?;
            let text = String::from_utf8_lossy(&listing.stdout);
            let mut lines = text.lines();
            let header = lines.next().unwrap_or("");
            let col = header
                .split_whitespace()
                .position(|h| h == "PID")
                .unwrap_or(1);
            let wanted = pids.unwrap_or_default();
            out(header);
            for line in lines {
                let pid = line
                    .split_whitespace()
                    .nth(col)
                    .and_then(|p| p.parse::<i32>().ok());
                if pid.is_some_and(|p| wanted.contains(&p)) {
                    out(line);
                }
            }
            Ok(())
        }
        other => Err(
            Error::msg(format!("ps: unknown format `{other}` (table or json)"))
                .in_container(id, "ps"),
        ),
    }
}

/// One line on stdout; a closed stdout (a pipe into `head`) is not an error worth a panic.
pub fn out(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}
