//! Several machines side by side: the machines table (each with the description given at
//! `assay run --describe`) and, for every benchmark metric, the median of each runtime on
//! each machine, from each machine's latest run.

use std::fmt::Write;

use crate::results::{CellStatus, Results};

use super::fmt::{esc, num};

/// A machine's identity across runs: its hostname, cpu, cores and kernel.
pub fn machine_key(r: &Results) -> String {
    let m = &r.machine;
    format!("{} · {} × {} · {}", m.hostname, m.cores, m.cpu, m.kernel)
}

/// Each machine's latest run, in first-seen order.
pub fn latest_per_machine<'a>(runs: &[&'a Results]) -> Vec<&'a Results> {
    let mut out: Vec<&Results> = Vec::new();
    for r in runs {
        match out.iter_mut().find(|x| machine_key(x) == machine_key(r)) {
            Some(x) if x.started_unix < r.started_unix => *x = r,
            Some(_) => {}
            None => out.push(r),
        }
    }
    out
}

/// The machines table and the fleet table, or nothing with fewer than two machines.
pub fn render(runs: &[&Results]) -> String {
    let latest = latest_per_machine(runs);
    if latest.len() < 2 {
        return String::new();
    }
    let mut s = String::from(
        "<h2>machines</h2><table class=\"summary fleet\"><thead><tr><th class=\"name\">machine</th><th class=\"name\">description</th><th class=\"name\">os</th><th class=\"name\">memory</th><th class=\"name\">cgroups</th><th class=\"name\">latest run</th></tr></thead><tbody>",
    );
    for r in &latest {
        let m = &r.machine;
        let _ = write!(
            s,
            "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{} MiB</td><td class=\"name\">{}</td><td class=\"name\">{}</td></tr>",
            esc(&machine_key(r)),
            esc(if m.description.is_empty() { "–" } else { &m.description }),
            esc(&m.os),
            m.memory_mib,
            esc(&m.cgroups),
            esc(&r.started)
        );
    }
    s.push_str("</tbody></table>");
    let mut rows: Vec<(String, usize, String)> = Vec::new();
    let mut runtimes: Vec<String> = Vec::new();
    for r in &latest {
        for rt in &r.runtimes {
            if !runtimes.contains(&rt.name) {
                runtimes.push(rt.name.clone());
            }
        }
        for b in &r.benchmarks {
            for (m, metric) in b.metrics.iter().enumerate() {
                if !rows.iter().any(|x| x.0 == b.name && x.1 == m) {
                    rows.push((
                        b.name.clone(),
                        m,
                        format!("{} [{}]", metric.key, metric.unit),
                    ));
                }
            }
        }
    }
    s.push_str("<h3>the fleet: medians of each machine's latest run</h3><p class=\"hint\">A table per runtime, a column per machine.</p>");
    for rt in &runtimes {
        let _ = write!(
            s,
            "<h4>{}</h4><div class=\"scroll\"><table class=\"summary fleet\"><thead><tr><th class=\"name\">benchmark</th><th class=\"metric\">metric</th>",
            esc(rt)
        );
        for r in &latest {
            let _ = write!(
                s,
                "<th>{}<br><small>{}</small></th>",
                esc(&r.machine.hostname),
                esc(&r.machine.kernel)
            );
        }
        s.push_str("</tr></thead><tbody>");
        for (bench, m, label) in &rows {
            let _ = write!(
                s,
                "<tr><td class=\"name\">{}</td><td class=\"metric\">{}</td>",
                esc(bench),
                esc(label)
            );
            for r in &latest {
                let median = r
                    .benchmarks
                    .iter()
                    .find(|b| &b.name == bench)
                    .and_then(|b| b.cells.iter().find(|c| &c.runtime == rt))
                    .filter(|c| c.status == CellStatus::Ok)
                    .and_then(|c| c.summaries.get(*m).cloned().flatten())
                    .map(|x| x.median);
                match median {
                    Some(v) if v.is_finite() => {
                        let _ = write!(s, "<td>{}</td>", num(v));
                    }
                    _ => s.push_str("<td class=\"na\">·</td>"),
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table></div>");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_machines_get_a_fleet_table() {
        let a = crate::report::tests::sample_results();
        let mut b = a.clone();
        b.machine.hostname = "other".into();
        b.machine.description = "a 4-core VM".into();
        assert_eq!(render(&[&a, &a]), "", "one machine: no fleet");
        let html = render(&[&a, &b]);
        assert!(html.contains("a 4-core VM"), "{html}");
        assert!(html.contains("<h4>runc</h4>"), "{html}");
        assert!(
            html.contains("<th>other<br><small>6.18</small></th>"),
            "{html}"
        );
        assert!(html.contains("<td>41.0</td>"), "{html}");
        let mut newer = a.clone();
        newer.started_unix += 10;
        let latest = latest_per_machine(&[&a, &b, &newer]);
        assert_eq!(latest.len(), 2);
        assert_eq!(latest[0].started_unix, newer.started_unix);
    }
}
