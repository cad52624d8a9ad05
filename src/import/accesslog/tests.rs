//! Access logs in each format, written for the purpose: rates, users,
//! service times, replay traces, and lines that do not match.

use std::io::Write;
use std::path::PathBuf;

use super::*;
use crate::import::testing::{self, text};

fn opts(files: Vec<PathBuf>, format: &str) -> LogOptions {
    LogOptions { files, format: format.into(), interval: "1m".into(), users_from: None, replay: false, balancer: None }
}

fn side(case: &str) -> SideFiles {
    let dir = testing::write("accesslog", case, ".keep", "").parent().unwrap().to_path_buf();
    SideFiles { dir, stem: "shop".into(), written: Vec::new() }
}

const TEMPLATE: &str =
    "$remote_addr [$time_local] \"$request\" $status $request_time $upstream_addr $upstream_response_time";

/// `n` requests a second for `secs` seconds from 14:00:00 UTC, from `users`
/// users, alternating two upstreams (the second slower), one 502 in 50.
fn nginx_log(secs: u64, n: u64, users: u64) -> String {
    let mut out = String::new();
    let mut k = 0;
    for s in 0..secs {
        let (m, sec) = (s / 60, s % 60);
        for _ in 0..n {
            let (up, t) = if k % 2 == 0 { ("10.0.0.1:8080", 0.010) } else { ("10.0.0.2:8080", 0.030) };
            let status = if k % 50 == 0 { 502 } else { 200 };
            out.push_str(&format!(
                "10.9.{}.{} [01/Jun/2024:14:{m:02}:{sec:02} +0000] \"GET /x HTTP/1.1\" {status} {t:.3} {up} {t:.3}\n",
                k % users / 250,
                k % users % 250
            ));
            k += 1;
        }
    }
    out
}

#[test]
fn a_log_alone_gives_rates_users_and_service_times() {
    let log = testing::write("accesslog", "alone", "access.log", &nginx_log(150, 20, 300));
    let mut s = side("alone");
    let d = standalone(&opts(vec![log], TEMPLATE), Some(&mut s)).unwrap();
    assert_eq!(d.top[0], ("start".to_string(), Val::new("2024-06-01T14:00:00Z", d.top[0].1.from.clone())));
    assert_eq!(d.top[1].1.text, "150s");
    let c = &d.clients[0];
    let users: u64 = text(&c.fields, &["users"]).unwrap().parse().unwrap();
    assert!((users as f64 - 300.0).abs() <= 10.0, "{users}");
    // 20/s: 1200 in each full minute, 600 in the last 30 s.
    assert_eq!(text(&c.fields, &["rate"]), Some("1200/1m"));
    let super::super::doc::Node::Seq(points, _) = &c.fields.get("profile").unwrap().node else { panic!() };
    assert_eq!(points.len(), 1, "the rate steps only where it changes");
    assert_eq!(text(&points[0], &["at"]), Some("2m"));
    assert_eq!(text(&points[0], &["rate"]), Some("600/30s"));
    let b = &d.balancers[0];
    assert_eq!(b.backends.iter().map(|x| x.server.as_str()).collect::<Vec<_>>(), ["10-0-0-1-8080", "10-0-0-2-8080"]);
    let svc = d.server("10-0-0-2-8080").unwrap().fields.get("service").unwrap();
    assert_eq!(text(svc, &["empirical", "column"]), Some("10-0-0-2-8080"));
    assert!(svc.comment.as_deref().unwrap().starts_with("1500 responses in the log: p50 30."), "{:?}", svc.comment);
    let csv = std::fs::read_to_string(s.dir.join("shop.service.csv")).unwrap();
    let mut rows = csv.lines();
    assert_eq!(rows.next(), Some("10-0-0-1-8080,10-0-0-2-8080"));
    assert_eq!(rows.count(), 1000);
    assert_eq!(s.written, ["shop.service.csv"]);
}

#[test]
fn replay_writes_the_arrivals_in_order() {
    // Arrivals are $time_local - $request_time: spread within each second.
    let log = testing::write("accesslog", "replay", "access.log", &nginx_log(3, 4, 10));
    let mut s = side("replay");
    let mut o = opts(vec![log], TEMPLATE);
    o.replay = true;
    let d = standalone(&o, Some(&mut s)).unwrap();
    assert_eq!(text(&d.clients[0].fields, &["replay", "file"]), Some("shop.trace.csv.gz"));
    let info = crate::trace::scan(&s.dir.join("shop.trace.csv.gz")).unwrap();
    assert_eq!((info.requests, info.users), (12, 10));
    let mut r = crate::trace::Reader::open(&s.dir.join("shop.trace.csv.gz")).unwrap();
    let times: Vec<f64> = std::iter::from_fn(|| r.next_arrival()).map(|(t, _)| t).collect();
    // Second 0: ends at .125 .375 .625 .875, less 10/30/10/30 ms.
    assert!((times[0] - 0.115).abs() < 1e-6 && (times[1] - 0.345).abs() < 1e-6, "{times:?}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn haproxy_and_alb_logs_say_when_requests_came() {
    let h = "Jun  1 14:00:00 lb haproxy[1]: 10.9.0.1:5000 [01/Jun/2024:14:00:00.250] www app/web1 0/0/1/42/43 200 100 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n\
             Jun  1 14:00:00 lb haproxy[1]: 10.9.0.2:5001 [01/Jun/2024:14:00:00.500] www app/web2 0/0/1/80/81 503 100 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n";
    let log = testing::write("accesslog", "haproxy", "haproxy.log", h);
    let mut s = side("haproxy");
    let d = standalone(&opts(vec![log], "haproxy"), Some(&mut s)).unwrap();
    assert_eq!(d.balancers[0].backends.iter().map(|x| x.server.as_str()).collect::<Vec<_>>(), ["app-web1", "app-web2"]);
    assert!(
        d.server("app-web2").unwrap().fields.get("service").unwrap().comment.as_deref().unwrap().contains("100% 5xx")
    );
    let alb = "http 2024-06-01T14:00:01.000000Z app/lb/1 10.9.0.1:2817 10.0.0.1:80 0.001 0.048 0.001 200 200 0 57 \"GET http://x/ HTTP/1.1\" \"curl\" - - arn \"Root=1\" \"-\" \"-\" 0 2024-06-01T14:00:00.950000Z \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\" -\n";
    let gz = testing::write("accesslog", "alb", "alb.log.gz", "").with_extension("gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    enc.write_all(alb.as_bytes()).unwrap();
    enc.finish().unwrap();
    let mut s = side("alb");
    let d = standalone(&opts(vec![gz], "alb"), Some(&mut s)).unwrap();
    assert_eq!(d.top[0].1.text, "2024-06-01T14:00:00Z");
    assert_eq!(d.balancers[0].backends[0].server, "10-0-0-1-80");
}

#[test]
fn the_log_fills_an_imported_configurations_groups() {
    let conf = testing::write(
        "accesslog",
        "apply",
        "nginx.conf",
        "upstream app { server 10.0.0.1:8080; server 10.0.0.2:8080; }\n",
    );
    let mut d = crate::import::nginx::import(&[conf]).unwrap();
    let log = testing::write("accesslog", "apply", "access.log", &nginx_log(60, 10, 50));
    let mut s = side("apply");
    apply(&mut d, &opts(vec![log], TEMPLATE), Some(&mut s)).unwrap();
    assert_eq!(text(&d.clients[0].fields, &["rate"]), Some("600/1m"));
    assert!(text(&d.clients[0].fields, &["retry", "attempts"]).is_some(), "the configuration's retries stay");
    assert!(d.server("10-0-0-1-8080").unwrap().fields.get("service").is_some());
}

#[test]
fn lines_that_do_not_match_are_located() {
    let mut log = nginx_log(10, 10, 5);
    log.insert_str(log.find('\n').unwrap() + 1, "garbage line\n");
    let path = testing::write("accesslog", "bad", "access.log", &log);
    let d = standalone(&opts(vec![path.clone()], TEMPLATE), Some(&mut side("bad"))).unwrap();
    let f = &d.findings.list[0];
    assert_eq!((f.at.line, f.at.col, f.what.as_str()), (2, 9, "1 of 101 lines"));
    // A first line that does not match is an error, at its column.
    let path = testing::write("accesslog", "first", "access.log", "10.0.0.1 {01/Jun/2024:14:00:00 +0000]\n");
    let e = standalone(&opts(vec![path], TEMPLATE), Some(&mut side("first"))).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("access.log:1:10: the line does not match the format: expected `[` after `$remote_addr`"),
        "{e}"
    );
    assert_eq!(e.exit_code(), 2);
    // Mostly garbage: refused.
    let path =
        testing::write("accesslog", "garbage", "access.log", &format!("{}{}", nginx_log(1, 1, 1), "x\n".repeat(50)));
    let e = standalone(&opts(vec![path], TEMPLATE), Some(&mut side("garbage"))).unwrap_err();
    assert!(e.to_string().contains("50 of 51 lines do not match the format"), "{e}");
}

#[test]
fn a_combined_log_has_no_service_times_and_says_so() {
    let line = "10.1.2.3 - - [01/Jun/2024:14:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\"\n";
    let path = testing::write("accesslog", "combined", "access.log", &line.repeat(3));
    let d = standalone(&opts(vec![path], "nginx"), Some(&mut side("combined"))).unwrap();
    assert!(d.findings.notes.iter().any(|n| n.contains("no response times")), "{:?}", d.findings.notes);
    assert!(d.findings.list.iter().any(|f| f.what == "a log without request times"));
    assert!(d.server("upstream").unwrap().fields.get("service").is_none());
}

#[test]
fn a_chosen_interval_and_a_chosen_user_field() {
    // 90 s at 20/s, every line from one address but ten user ids.
    let mut log = String::new();
    for s in 0..90u64 {
        for i in 0..(if s < 30 { 10 } else { 20 }) {
            log.push_str(&format!(
                "10.9.0.1 [01/Jun/2024:14:{:02}:{:02} +0000] \"GET / HTTP/1.1\" 200 0.010 10.0.0.1:80 0.010 user{}\n",
                s / 60,
                s % 60,
                i % 10
            ));
        }
    }
    let path = testing::write("accesslog", "interval", "access.log", &log);
    let mut o = opts(vec![path], &format!("{TEMPLATE} $http_x_user"));
    o.interval = "30s".into();
    o.users_from = Some("http_x_user".into());
    let d = standalone(&o, Some(&mut side("interval"))).unwrap();
    let c = &d.clients[0];
    assert_eq!(text(&c.fields, &["users"]), Some("10"));
    assert_eq!(text(&c.fields, &["rate"]), Some("300/30s"));
    let super::super::doc::Node::Seq(points, _) = &c.fields.get("profile").unwrap().node else { panic!() };
    assert_eq!(points.len(), 1);
    assert_eq!((text(&points[0], &["at"]), text(&points[0], &["rate"])), (Some("30s"), Some("600/30s")));
    // By address instead: one user.
    let mut o = o.clone();
    o.users_from = None;
    let d = standalone(&o, Some(&mut side("interval-addr"))).unwrap();
    assert_eq!(text(&d.clients[0].fields, &["users"]), Some("1"));
    // A field the format does not have.
    o.users_from = Some("http_x_session".into());
    let e = standalone(&o, Some(&mut side("interval-bad"))).unwrap_err();
    assert!(e.to_string().contains("--users-from http_x_session: the format has no `$http_x_session`"), "{e}");
}

#[test]
fn the_log_starts_at_its_first_second_and_a_short_tail_is_no_step() {
    // 120 s at 10/s, each taking 0.4 s: the first ones arrived before the
    // log's first second (14:00:00); one straggler ends at 14:02:00.
    let mut log = String::new();
    for s in 0..120u64 {
        for _ in 0..10 {
            log.push_str(&format!(
                "10.9.0.1 [01/Jun/2024:14:{:02}:{:02} +0000] \"GET / HTTP/1.1\" 200 0.400 10.0.0.1:80 0.400\n",
                s / 60,
                s % 60
            ));
        }
    }
    log.push_str("10.9.0.2 [01/Jun/2024:14:02:00 +0000] \"GET / HTTP/1.1\" 200 0.100 10.0.0.1:80 0.100\n");
    let path = testing::write("accesslog", "tail", "access.log", &log);
    let d = standalone(&opts(vec![path], TEMPLATE), Some(&mut side("tail"))).unwrap();
    assert_eq!(d.top[0].1.text, "2024-06-01T14:00:00Z");
    assert_eq!(d.top[1].1.text, "121s");
    let c = &d.clients[0];
    // Every request is counted, those before 14:00:00 at the start; and 4
    // of those logged at 14:01:00 (spread over it, less 0.4 s) came before.
    assert_eq!(text(&c.fields, &["rate"]), Some("604/1m"));
    let super::super::doc::Node::Seq(points, _) = &c.fields.get("profile").unwrap().node else { panic!() };
    // The straggler's second at 2m is too short to be a step of its own.
    assert_eq!(points.len(), 1);
    assert_eq!((text(&points[0], &["at"]), text(&points[0], &["rate"])), (Some("1m"), Some("596/1m")));
}
