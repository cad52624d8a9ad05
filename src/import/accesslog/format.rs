//! Access-log line formats: an NGINX `log_format` template (`$var` and the
//! text between), the presets `nginx` (NGINX's `combined`) and `alb`
//! (written as templates), and HAProxy's `option httplog`, read by hand.
//! Each line yields the few values an import uses: when the request came
//! or ended, how long it took in all and at the upstream, which upstream,
//! its status, and who sent it.

use crate::clock::days_from_civil;

/// NGINX's predefined `combined` format.
pub(crate) const NGINX_COMBINED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";

/// An AWS Application Load Balancer access-log entry, field by field.
pub(crate) const ALB: &str = "$type $time $elb $client $target $request_processing_time $target_processing_time \
     $response_processing_time $elb_status_code $target_status_code $received_bytes $sent_bytes \"$request\" \
     \"$user_agent\" $ssl_cipher $ssl_protocol $target_group_arn \"$trace_id\" \"$domain_name\" \"$chosen_cert_arn\" \
     $matched_rule_priority $request_creation_time \"$actions_executed\" \"$redirect_url\" \"$error_reason\" \
     \"$target_list\" \"$target_status_code_list\" \"$classification\" \"$classification_reason\" $conn_trace_id";

/// What a variable of a template stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// `$time_local`: when the request ended, `10/Oct/2000:13:55:36 -0700`.
    EndClf,
    /// `$time_iso8601`, ALB `time`: when it ended.
    EndIso,
    /// `$msec`: when it ended, seconds since the epoch.
    EndEpoch,
    /// ALB `request_creation_time`: when it came.
    StartIso,
    /// `$request_time`: seconds in all.
    Total,
    /// `$upstream_response_time`, ALB `target_processing_time`: seconds at the upstream.
    Service,
    /// ALB `request_processing_time`, `response_processing_time`: added to the total.
    TotalPart,
    Upstream,
    Status,
    UpstreamStatus,
    User,
    Other,
}

pub(crate) enum Part {
    Text(String),
    Var(String, Role),
}

/// The values one line gives (times in seconds since the epoch).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Fields<'a> {
    pub end: Option<f64>,
    /// The end time is only to the second (spread within it).
    pub end_to_the_second: bool,
    pub start: Option<f64>,
    pub total: Option<f64>,
    pub service: Option<f64>,
    pub upstream: Option<&'a str>,
    pub status: Option<u16>,
    pub upstream_status: Option<u16>,
    pub user: Option<&'a str>,
}

/// A line that does not match: the byte column and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mismatch {
    pub col: usize,
    pub expected: String,
}

pub(crate) enum Format {
    Template(Vec<Part>),
    Haproxy,
}

impl Format {
    /// `nginx`, `haproxy`, `alb`, or an NGINX `log_format` template;
    /// `users_from` names the field that identifies a user (default: the
    /// client address).
    pub(crate) fn parse(spec: &str, users_from: Option<&str>) -> Result<Format, String> {
        let template = match spec {
            "haproxy" => {
                if let Some(u) = users_from.filter(|u| *u != "client") {
                    return Err(format!("--users-from {u}: the haproxy format names users by `client` only"));
                }
                return Ok(Format::Haproxy);
            }
            "nginx" | "combined" => NGINX_COMBINED,
            "alb" => ALB,
            t if t.contains('$') => t,
            other => {
                return Err(format!(
                    "--format {other}: expected nginx, haproxy, alb, or an NGINX log_format template like \
                     '$remote_addr [$time_local] \"$request\" $status $request_time $upstream_addr $upstream_response_time'"
                ));
            }
        };
        let default_user = if spec == "alb" { "client" } else { "remote_addr" };
        let user = users_from.map(|u| u.trim_start_matches('$')).unwrap_or(default_user);
        let parts = template_parts(template, user)?;
        if !parts.iter().any(|p| matches!(p, Part::Var(_, Role::User))) {
            return Err(format!("--users-from {user}: the format has no `${user}`"));
        }
        if !parts
            .iter()
            .any(|p| matches!(p, Part::Var(_, Role::EndClf | Role::EndIso | Role::EndEpoch | Role::StartIso)))
        {
            return Err(format!(
                "the format `{template}` has no time: add $time_local, $time_iso8601 or $msec so arrivals can be placed"
            ));
        }
        Ok(Format::Template(parts))
    }

    /// Whether lines carry a response time at the upstream.
    pub(crate) fn has_service_times(&self) -> bool {
        match self {
            Format::Haproxy => true,
            Format::Template(parts) => parts.iter().any(|p| matches!(p, Part::Var(_, Role::Service | Role::Total))),
        }
    }

    /// Whether lines say which upstream answered.
    pub(crate) fn has_upstreams(&self) -> bool {
        match self {
            Format::Haproxy => true,
            Format::Template(parts) => parts.iter().any(|p| matches!(p, Part::Var(_, Role::Upstream))),
        }
    }

    pub(crate) fn read<'a>(&self, line: &'a str) -> Result<Fields<'a>, Mismatch> {
        let fields = match self {
            Format::Template(parts) => read_template(parts, line),
            Format::Haproxy => read_haproxy(line),
        }?;
        in_range(fields)
    }
}

/// Latest time a log line may carry, in seconds since 1970 (the year 5138):
/// times are kept in microseconds in an `i64`, with room to subtract.
const LATEST_S: f64 = 1e11;
/// Longest request time a line may give, seconds (about eleven days).
const LONGEST_S: f64 = 1e6;

/// Refuses times the reader could not do arithmetic on: a timestamp before
/// 1970 or after `LATEST_S`, a request time below 0 or above `LONGEST_S`.
fn in_range(f: Fields<'_>) -> Result<Fields<'_>, Mismatch> {
    let time_ok = |t: Option<f64>| t.is_none_or(|t| (0.0..=LATEST_S).contains(&t));
    if !time_ok(f.start) || !time_ok(f.end) {
        return Err(Mismatch { col: 1, expected: "a timestamp between 1970 and the year 5000".into() });
    }
    if !f.total.is_none_or(|t| (0.0..=LONGEST_S).contains(&t)) {
        return Err(Mismatch { col: 1, expected: "a request time between 0 and 1,000,000 seconds".into() });
    }
    Ok(f)
}

fn template_parts(template: &str, user: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        text.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let (name, after) = if let Some(r) = rest.strip_prefix('{') {
            let end = r.find('}').ok_or("a `${` in the format is not closed")?;
            (&r[..end], &r[end + 1..])
        } else {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        if name.is_empty() {
            return Err("a `$` in the format is not followed by a variable name".into());
        }
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text)));
        } else if matches!(parts.last(), Some(Part::Var(..))) {
            return Err(format!("`${name}` follows another variable with nothing between: lines could not be split"));
        }
        parts.push(Part::Var(name.to_string(), role(name, user)));
        rest = after;
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

fn role(name: &str, user: &str) -> Role {
    if name == user {
        return Role::User;
    }
    match name {
        "time_local" => Role::EndClf,
        "time_iso8601" | "time" => Role::EndIso,
        "msec" => Role::EndEpoch,
        "request_creation_time" => Role::StartIso,
        "request_time" => Role::Total,
        "upstream_response_time" | "target_processing_time" => Role::Service,
        "request_processing_time" | "response_processing_time" => Role::TotalPart,
        "upstream_addr" | "target" => Role::Upstream,
        "status" | "elb_status_code" => Role::Status,
        "upstream_status" | "target_status_code" => Role::UpstreamStatus,
        _ => Role::Other,
    }
}

fn read_template<'a>(parts: &[Part], line: &'a str) -> Result<Fields<'a>, Mismatch> {
    let mut f = Fields::default();
    let mut pos = 0;
    let mut parts_total = 0.0;
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Text(t) => {
                if !line[pos..].starts_with(t.as_str()) {
                    if pos >= line.len()
                        && parts[i..].iter().all(|p| !matches!(p, Part::Var(_, r) if *r != Role::Other))
                    {
                        // Trailing fields an older format version leaves out.
                        break;
                    }
                    // Point at the first character that differs.
                    let same = line[pos..].bytes().zip(t.bytes()).take_while(|(a, b)| a == b).count();
                    let after = match i.checked_sub(1).map(|j| &parts[j]) {
                        Some(Part::Var(n, _)) => format!(" after `${n}`"),
                        _ => String::new(),
                    };
                    return Err(Mismatch { col: pos + same, expected: format!("`{}`{after}", t[same..].trim()) });
                }
                pos += t.len();
            }
            Part::Var(name, role) => {
                let quoted = i > 0
                    && matches!(&parts[i - 1], Part::Text(t) if t.ends_with('"'))
                    && matches!(parts.get(i + 1), Some(Part::Text(t)) if t.starts_with('"'));
                let one_word = !quoted && !may_have_spaces(name);
                let end = match parts.get(i + 1) {
                    // A one-word value ends at the first space at the latest:
                    // the text after it must follow there.
                    Some(Part::Text(t)) if one_word => {
                        let space = line[pos..].find(' ').map(|j| pos + j);
                        match (value_end(line, pos, t, false), space) {
                            (Some(e), Some(s)) => Some(e.min(s)),
                            (e, s) => e.or(s),
                        }
                    }
                    Some(Part::Text(t)) => value_end(line, pos, t, name.starts_with("upstream_")),
                    _ => Some(line.len()),
                };
                let Some(end) = end else {
                    if parts[i + 1..].iter().all(|p| !matches!(p, Part::Var(_, r) if *r != Role::Other)) {
                        break;
                    }
                    let next = match &parts[i + 1] {
                        Part::Text(t) => t.trim().to_string(),
                        Part::Var(n, _) => format!("${n}"),
                    };
                    return Err(Mismatch { col: pos, expected: format!("`{next}` after `${name}`") });
                };
                let value = &line[pos..end];
                let bad = |what: &str| Mismatch { col: pos, expected: format!("{what} for `${name}`, not `{value}`") };
                if value.contains(' ') && one_word {
                    return Err(bad("one word"));
                }
                match role {
                    Role::EndClf => {
                        f.end = Some(clf_time(value).ok_or_else(|| bad("a time like 10/Oct/2000:13:55:36 -0700"))?);
                        f.end_to_the_second = !value.contains('.');
                    }
                    Role::EndIso => {
                        f.end = Some(iso_time(value).ok_or_else(|| bad("a time like 2024-06-01T14:00:00Z"))?);
                        f.end_to_the_second = !value.contains('.');
                    }
                    Role::EndEpoch => f.end = Some(value.parse().map_err(|_| bad("seconds since 1970"))?),
                    Role::StartIso => f.start = iso_time(value),
                    Role::Total => f.total = seconds(value).map_err(|()| bad("seconds like 0.012"))?,
                    Role::Service => f.service = seconds(last(value)).map_err(|()| bad("seconds like 0.012"))?,
                    Role::TotalPart => parts_total += seconds(value).map_err(|()| bad("seconds"))?.unwrap_or(f64::NAN),
                    Role::Upstream => f.upstream = Some(last(value)).filter(|u| !matches!(*u, "-" | "")),
                    Role::Status => {
                        f.status = last(value).parse().ok();
                        if f.status.is_none() && !matches!(value, "-" | "") {
                            return Err(bad("a status like 200"));
                        }
                    }
                    Role::UpstreamStatus => f.upstream_status = last(value).parse().ok(),
                    Role::User => {
                        f.user = Some(value).filter(|u| !u.is_empty() && *u != "-").map(|u| {
                            // ALB writes `client:port`; the port is not the user.
                            if *name == "client" { u.rsplit_once(':').map_or(u, |(h, _)| h) } else { u }
                        });
                    }
                    Role::Other => {}
                }
                pos = end;
            }
        }
    }
    if f.total.is_none() && parts_total > 0.0 {
        f.total = Some(parts_total + f.service.unwrap_or(0.0));
    }
    Ok(f)
}

/// Where a variable's value ends: at the next literal text. NGINX's
/// `$upstream_*` variables list one value per upstream tried, `a, b` (or
/// `a : b` across internal redirects), so a separator does not end them.
fn value_end(line: &str, pos: usize, text: &str, multi: bool) -> Option<usize> {
    let mut from = pos;
    loop {
        let j = from + line[from..].find(text)?;
        let continued =
            multi && (line[..j].ends_with(',') || line[..j].ends_with(" :") || line[j..].starts_with(" : "));
        if !continued {
            return Some(j);
        }
        from = j + 1;
    }
}

/// The last of NGINX's comma- or colon-separated values (the upstream that
/// answered, after retries and internal redirects).
fn last(value: &str) -> &str {
    let v = value.rsplit(", ").next().unwrap_or(value);
    v.rsplit(" : ").next().unwrap_or(v).trim()
}

/// A time in seconds; `-` and ALB's `-1` mean none; anything else that is
/// not a number is an error.
fn seconds(value: &str) -> Result<Option<f64>, ()> {
    match value.trim() {
        "-" | "" => Ok(None),
        v => v.parse::<f64>().map(|s| (s.is_finite() && s >= 0.0).then_some(s)).map_err(|_| ()),
    }
}

/// Variables whose values may hold spaces outside quotes: the local time,
/// request lines and headers, and the lists of upstreams tried.
fn may_have_spaces(name: &str) -> bool {
    matches!(name, "time_local" | "request" | "remote_user")
        || name.starts_with("http_")
        || name.starts_with("sent_http_")
        || name.starts_with("upstream_")
}

/// HAProxy `option httplog`, after any syslog prefix:
/// `client:port [date] frontend backend/server TR/Tw/Tc/Tr/Ta status ...`.
fn read_haproxy(line: &str) -> Result<Fields<'_>, Mismatch> {
    let open =
        find_date(line).ok_or(Mismatch { col: 0, expected: "`[06/Feb/2009:12:14:14.655]`, HAProxy's date".into() })?;
    let close = line[open..].find(']').map(|i| open + i).ok_or(Mismatch { col: open, expected: "`]`".into() })?;
    let date = &line[open + 1..close];
    let start =
        clf_time(date).ok_or(Mismatch { col: open + 1, expected: "a date like 06/Feb/2009:12:14:14.655".into() })?;
    let client = line[..open].trim_end().rsplit(' ').next().unwrap_or("");
    let user = client.rsplit_once(':').map_or(client, |(h, _)| h);
    let mut words = line[close + 1..].split_whitespace();
    let (_frontend, backend, timers, status) = (words.next(), words.next(), words.next(), words.next());
    let (Some(backend), Some(timers)) = (backend, timers) else {
        return Err(Mismatch { col: close + 1, expected: "a frontend, `backend/server` and the timers".into() });
    };
    let t: Vec<f64> = timers.split('/').map(|x| x.trim_start_matches('+').parse::<f64>().unwrap_or(-1.0)).collect();
    if t.len() != 5 {
        return Err(Mismatch { col: close + 1, expected: format!("the five timers TR/Tw/Tc/Tr/Ta, not `{timers}`") });
    }
    let upstream = Some(backend).filter(|b| !b.ends_with("<NOSRV>") && b.contains('/'));
    Ok(Fields {
        start: Some(start),
        total: (t[4] >= 0.0).then(|| t[4] / 1000.0),
        service: (t[3] >= 0.0).then(|| t[3] / 1000.0),
        upstream,
        status: status.and_then(|s| s.parse().ok()),
        user: Some(user).filter(|u| !u.is_empty()),
        ..Fields::default()
    })
}

/// The `[` of the first `[dd/Mon/yyyy:` on the line.
fn find_date(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    (0..b.len().saturating_sub(12))
        .find(|&i| b[i] == b'[' && b[i + 1].is_ascii_digit() && b[i + 2].is_ascii_digit() && b[i + 3] == b'/')
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `10/Oct/2000:13:55:36 -0700` or `06/Feb/2009:12:14:14.655` (UTC when
/// no zone is given), in seconds since the epoch.
pub(crate) fn clf_time(text: &str) -> Option<f64> {
    let (stamp, zone) = text.split_once(' ').map_or((text, None), |(s, z)| (s, Some(z)));
    let mut it = stamp.splitn(3, '/');
    let day: u32 = it.next()?.parse().ok()?;
    let name = it.next()?;
    let month = MONTHS.iter().position(|m| *m == name)? as u32 + 1;
    let rest = it.next()?;
    let (year, clock) = rest.split_once(':')?;
    let secs = clock_secs(clock)?;
    let offset = match zone {
        Some(z) => zone_secs(z)?,
        None => 0,
    };
    Some(civil(year.parse().ok()?, month, day)? + secs - offset as f64)
}

/// `2018-07-02T22:23:00.186641Z`, `2000-10-10T13:55:36-07:00`.
pub(crate) fn iso_time(text: &str) -> Option<f64> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
    let (clock, offset) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else {
        let i = time.rfind(['+', '-'])?;
        (&time[..i], zone_secs(&time[i..])?)
    };
    Some(civil(y, m, day)? + clock_secs(clock)? - offset as f64)
}

fn civil(y: i64, m: u32, d: u32) -> Option<f64> {
    let plausible = (0..=9999).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d);
    plausible.then(|| (days_from_civil(y, m, d) * 86_400) as f64)
}

fn clock_secs(clock: &str) -> Option<f64> {
    let mut it = clock.splitn(3, ':');
    let h: f64 = it.next()?.parse().ok()?;
    let m: f64 = it.next()?.parse().ok()?;
    let s: f64 = it.next()?.parse().ok()?;
    (h < 24.0 && m < 60.0 && s < 61.0).then_some(h * 3600.0 + m * 60.0 + s)
}

/// `-0700`, `+05:30` in seconds east of UTC.
fn zone_secs(z: &str) -> Option<i64> {
    let sign = match z.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let digits: String = z[1..].chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 4 {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = digits[2..].parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_form() {
        assert_eq!(clf_time("10/Oct/2000:13:55:36 -0700"), Some(971_211_336.0));
        assert_eq!(iso_time("2000-10-10T13:55:36-07:00"), Some(971_211_336.0));
        assert_eq!(iso_time("2000-10-10T20:55:36Z"), Some(971_211_336.0));
        let ms = clf_time("06/Feb/2009:12:14:14.655").unwrap();
        assert!((ms - 1_233_922_454.655).abs() < 1e-6, "{ms}");
        assert_eq!(clf_time("06/Foo/2009:12:14:14"), None);
    }

    #[test]
    fn nginx_combined_and_templates() {
        let f = Format::parse("nginx", None).unwrap();
        let line = r#"10.1.2.3 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1" 200 2326 "-" "curl/8""#;
        let v = f.read(line).unwrap();
        assert_eq!(
            (v.end, v.user, v.status, v.end_to_the_second),
            (Some(971_211_336.0), Some("10.1.2.3"), Some(200), true)
        );
        assert!(!f.has_service_times() && !f.has_upstreams());
        let t = Format::parse("$remote_addr [$time_local] \"$request\" $status $request_time $upstream_addr $upstream_response_time $http_x_user", Some("http_x_user")).unwrap();
        let v = t.read(r#"10.1.2.3 [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 502 0.120 10.0.0.1:80, 10.0.0.2:80 0.050, 0.070 alice"#).unwrap();
        assert_eq!(
            (v.total, v.upstream, v.service, v.user),
            (Some(0.12), Some("10.0.0.2:80"), Some(0.07), Some("alice"))
        );
        let e = t.read("10.1.2.3 10/Oct/2000").unwrap_err();
        assert_eq!(e, Mismatch { col: 9, expected: "`[` after `$remote_addr`".into() });
        assert!(Format::parse("$remote_addr $status", None).err().unwrap().contains("no time"));
        assert!(Format::parse("apache", None).err().unwrap().contains("expected nginx, haproxy, alb"));
    }

    #[test]
    fn alb_entries() {
        let f = Format::parse("alb", None).unwrap();
        let line = r#"https 2018-07-02T22:23:00.186641Z app/my-lb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234"#;
        let v = f.read(line).unwrap();
        assert_eq!(
            (v.user, v.upstream, v.service, v.status),
            (Some("192.168.131.39"), Some("10.0.0.1:80"), Some(0.048), Some(200))
        );
        assert!((v.start.unwrap() - iso_time("2018-07-02T22:22:48.364000Z").unwrap()).abs() < 1e-9);
        assert!((v.total.unwrap() - 0.171).abs() < 1e-9);
        // No target answered: -1 and `-`.
        let none = line.replace(" 10.0.0.1:80 0.086 0.048", " - 0.086 -1");
        let v = f.read(&none).unwrap();
        assert_eq!((v.upstream, v.service), (None, None));
    }

    #[test]
    fn haproxy_httplog() {
        let f = Format::parse("haproxy", None).unwrap();
        let line = "Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 \"GET /index.html HTTP/1.1\"";
        let v = f.read(line).unwrap();
        assert_eq!(
            (v.user, v.upstream, v.service, v.total, v.status),
            (Some("10.0.1.2"), Some("static/srv1"), Some(0.069), Some(0.109), Some(200))
        );
        let nosrv = line.replace("static/srv1 10/0/30/69", "static/<NOSRV> 10/0/-1/-1");
        let v = f.read(&nosrv).unwrap();
        assert_eq!((v.upstream, v.service), (None, None));
        assert!(f.read("garbage").is_err());
    }
}
