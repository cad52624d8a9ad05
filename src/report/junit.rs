//! JUnit XML (`--junit FILE` on `run`, `compare` and `check`), for CI
//! systems that show test results: one test suite per command, one test
//! case per SLO verdict, compared metric or rule finding, failed when the
//! verdict fails, the metric is worse or the finding is an error (or a
//! warning under `--deny warnings`). The format is the common subset that
//! Jenkins, GitLab and GitHub test reporters read.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// One test case.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub name: String,
    /// The group it belongs to (`slo`, `metric`, a rule ID).
    pub classname: String,
    /// Failed: a one-line message and the details.
    pub failure: Option<(String, String)>,
    /// Passed, with something to say (a note, a negligible change).
    pub output: Option<String>,
}

impl Case {
    pub fn passed(classname: impl Into<String>, name: impl Into<String>) -> Case {
        Case { name: name.into(), classname: classname.into(), failure: None, output: None }
    }

    pub fn failed(
        classname: impl Into<String>,
        name: impl Into<String>,
        message: impl Into<String>,
        detail: impl Into<String>,
    ) -> Case {
        Case {
            name: name.into(),
            classname: classname.into(),
            failure: Some((message.into(), detail.into())),
            output: None,
        }
    }

    pub fn with_output(mut self, text: impl Into<String>) -> Case {
        self.output = Some(text.into());
        self
    }
}

/// One test suite: what a command judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
}

/// Escapes text for XML attributes and content; characters XML 1.0 cannot
/// carry at all become `?`.
fn escape(s: &str) -> String {
    let clean: String =
        s.chars().map(|c| if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') { '?' } else { c }).collect();
    super::html::escape(&clean)
}

/// The suites as a JUnit XML document.
pub fn render(suites: &[Suite]) -> String {
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().flat_map(|s| &s.cases).filter(|c| c.failure.is_some()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<testsuites name=\"lbsim\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n"));
    for s in suites {
        let f = s.cases.iter().filter(|c| c.failure.is_some()).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"0\" skipped=\"0\">\n",
            escape(&s.name),
            s.cases.len()
        ));
        for c in &s.cases {
            let head = format!("    <testcase classname=\"{}\" name=\"{}\"", escape(&c.classname), escape(&c.name));
            if c.failure.is_none() && c.output.is_none() {
                out.push_str(&head);
                out.push_str("/>\n");
                continue;
            }
            out.push_str(&head);
            out.push_str(">\n");
            if let Some((message, detail)) = &c.failure {
                out.push_str(&format!(
                    "      <failure message=\"{}\" type=\"failure\">{}</failure>\n",
                    escape(message),
                    escape(detail)
                ));
            }
            if let Some(text) = &c.output {
                out.push_str(&format!("      <system-out>{}</system-out>\n", escape(text)));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Writes the suites to `path`, atomically.
pub fn write(path: &Path, suites: &[Suite]) -> Result<PathBuf, Error> {
    if path.file_name().is_none() {
        return Err(Error::Usage(format!("--junit {}: name a file", path.display())));
    }
    super::output::write_file(path, render(suites).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_counts() {
        let xml = render(&[Suite {
            name: "lbsim check a<b>.yaml".into(),
            cases: vec![
                Case::passed("slo", "p99 < 1s"),
                Case::failed("BAL001", "balancer \"lb\"", "one backend & more", "line 1\nline 2"),
                Case::passed("note", "n").with_output("it's fine"),
            ],
        }]);
        assert!(xml.contains("<testsuites name=\"lbsim\" tests=\"3\" failures=\"1\" errors=\"0\">"), "{xml}");
        assert!(xml.contains("name=\"lbsim check a&lt;b&gt;.yaml\" tests=\"3\" failures=\"1\""), "{xml}");
        assert!(xml.contains("<testcase classname=\"slo\" name=\"p99 &lt; 1s\"/>"), "{xml}");
        assert!(
            xml.contains("<failure message=\"one backend &amp; more\" type=\"failure\">line 1\nline 2</failure>"),
            "{xml}"
        );
        assert!(xml.contains("<system-out>it&#39;s fine</system-out>"), "{xml}");
    }
}
