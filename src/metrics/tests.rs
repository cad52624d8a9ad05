//! Unit tests of the recorder: intervals, windows and totals.

use super::*;

type Row = (f64, String, String, String, f64);
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<Row>>>);
impl SeriesSink for Capture {
    fn row(&mut self, t: f64, _: &str, kind: &str, entity: &str, metric: &str, v: f64) {
        self.0.lock().unwrap().push((t, kind.into(), entity.into(), metric.into(), v));
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn intervals_report_counts_shares_and_percentiles() {
    let rows = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let names = Names {
        servers: vec!["a".into(), "b".into()],
        balancers: vec!["lb".into()],
        clients: vec!["web".into()],
        subnets: vec![],
    };
    let mut r =
        Recorder::new(names.sizes(), &[2], &[10], NANOS_PER_SEC, 0, 500_000_000, Box::new(Capture(rows.clone())));
    r.keep_server_rows();
    for i in 0..4 {
        let server = ServerId::from_index(if i == 0 { 1 } else { 0 });
        // SAFETY: group 0 of 1 (10 users), servers 0 and 1 of 2.
        unsafe { r.on_call(0, i, 0, u32::MAX) };
        r.on_attempt(0, false, true);
        r.on_balancer(0, server.index() as u32, true);
        unsafe {
            r.on_server_arrival(server, 0, true);
            r.on_server_outcome(server, ServerOutcome::Completed, true);
            r.on_success(0, i, 0, (u64::from(i) + 1) * 1_000_000, server, u32::MAX);
        }
    }
    r.on_failure(0, 7, 0, Failure::TimedOut, u32::MAX);
    r.on_failure(0, 7, 0, Failure::TimedOut, u32::MAX);
    let gauges = Gauges {
        servers: vec![ServerGauge { busy_ns: 5e8, workers: 1, queue: 2, up: true }, ServerGauge::default()],
        balancers: vec![BalancerGauge { usable_backends: 2, up: true }],
        in_flight: 3,
    };
    let snap = r.close_interval(NANOS_PER_SEC, &gauges, &names).clone();
    assert_eq!(snap.global(GlobalMetric::Requests), 4.0);
    assert_eq!(snap.global(GlobalMetric::TimedOut), 2.0);
    assert_eq!(snap.global(GlobalMetric::UsersFailed), 1.0);
    assert!((snap.global(GlobalMetric::ErrorRate) - 2.0 / 6.0).abs() < 1e-12);
    assert_eq!(snap.server(0, ServerMetric::Share), 0.75);
    assert_eq!(snap.server(0, ServerMetric::Utilisation), 0.5);
    assert_eq!(snap.server(0, ServerMetric::Queue), 2.0);
    assert_eq!(snap.balancer(0, BalancerMetric::MaxShare), 0.75);
    assert_eq!(snap.global(GlobalMetric::InFlight), 3.0);
    assert!((snap.global(GlobalMetric::LatencyP99) - 4.0).abs() < 0.05);
    let rows = rows.lock().unwrap();
    let get = |kind: &str, entity: &str, metric: &str| {
        rows.iter().find(|r| r.1 == kind && r.2 == entity && r.3 == metric).map(|r| r.4).unwrap()
    };
    assert_eq!(get("server", "a", "share"), 0.75);
    assert_eq!(get("balancer", "lb", "healthy_backends"), 2.0);
    assert_eq!(r.interval_index, 1);
    let m = r.measured();
    assert_eq!(m.failed[Failure::TimedOut as usize], 2);
    assert!((m.latency_mean_ms() - 2.5).abs() < 1e-12);
    let users = m.users.counts();
    assert_eq!((users.active, users.normal, users.unable), (4, 4, 0));
}

#[test]
fn windows_count_only_requests_created_inside_them() {
    let names = Names { servers: vec![], balancers: vec![], clients: vec!["c".into()], subnets: vec![] };
    let mut r = Recorder::new(names.sizes(), &[], &[4], NANOS_PER_SEC, 0, u64::MAX, Box::new(NullSink));
    let w = r.add_window(10, 20);
    // SAFETY: group 0 of 1, users 0 and 1 of 4.
    unsafe {
        r.on_call(0, 0, 5, u32::MAX);
        r.on_call(0, 1, 15, u32::MAX);
    }
    r.on_failure(0, 1, 15, Failure::Refused, u32::MAX);
    unsafe { r.on_success(0, 0, 5, 100, ServerId::NONE, u32::MAX) };
    assert_eq!(r.windows()[w].generated, 1);
    assert_eq!(r.windows()[w].failed_total(), 1);
    assert_eq!(r.windows()[w].users.counts().unable, 1);
    // Without a warm-up the measured window is counted by interval: its
    // counts are complete at each close and once the run settles.
    assert_eq!(r.measured().generated, 0);
    r.settle_totals();
    assert_eq!(r.measured().generated, 2);
    assert_eq!((r.measured().completed, r.measured().failed_total()), (1, 1));
}

/// Without a warm-up the totals are the intervals' sums (added at each
/// close and when the run settles); with one they are counted per request
/// until the simulator switches, then by interval: the same figures either way.
#[test]
fn totals_by_interval_equal_totals_per_request() {
    let run = |warmup: u64, switch_after_first: bool| {
        let names = Names {
            servers: vec!["a".into()],
            balancers: vec!["lb".into()],
            clients: vec!["c".into()],
            subnets: vec![],
        };
        let mut r = Recorder::new(names.sizes(), &[1], &[3], NANOS_PER_SEC, warmup, u64::MAX, Box::new(NullSink));
        let server = ServerId::from_index(0);
        let one = |r: &mut Recorder, created: u64, ok: bool, queue: u64| {
            let counted = r.counts(created);
            // SAFETY: group 0 of 1, user 1 of 3, server 0 of 1.
            unsafe { r.on_call(0, 1, created, u32::MAX) };
            r.on_attempt(0, !ok, counted);
            r.on_balancer(0, 0, counted);
            unsafe { r.on_server_arrival(server, queue, counted) };
            if ok {
                unsafe {
                    r.on_server_outcome(server, ServerOutcome::Completed, counted);
                    r.on_success(0, 1, created, 1_000, server, u32::MAX);
                }
            } else {
                unsafe { r.on_server_outcome(server, ServerOutcome::Rejected, counted) };
                r.on_failure(0, 1, created, Failure::Rejected, u32::MAX);
            }
        };
        one(&mut r, 0, true, 4);
        one(&mut r, 10, false, 2);
        let gauges =
            Gauges { servers: vec![ServerGauge::default()], balancers: vec![BalancerGauge::default()], in_flight: 0 };
        r.close_interval(NANOS_PER_SEC, &gauges, &names);
        if switch_after_first {
            r.count_totals_by_interval();
        }
        one(&mut r, NANOS_PER_SEC + 5, true, 7);
        one(&mut r, NANOS_PER_SEC + 6, true, 1);
        r.settle_totals();
        let s = &r.servers[0];
        (
            (s.requests, s.completed, s.rejected, s.errors, s.max_queue),
            (r.clients[0].requests, r.clients[0].completed, r.clients[0].failed),
            (r.balancers[0].requests, r.attempts, r.retries),
        )
    };
    let all = ((4, 3, 1, 1, 7), (4, 3, 1), (4, 4, 1));
    assert_eq!(run(0, false), all);
    // A warm-up of 5 ns leaves the first request out of every total.
    let measured = ((3, 2, 1, 1, 7), (3, 2, 1), (3, 3, 1));
    assert_eq!(run(5, false), measured);
    assert_eq!(run(5, true), measured);
}

proptest::proptest! {
    /// The chart's latency bins, given per HDR bucket as the recorder
    /// flushes them, are those of the flushed histogram's buckets, interval
    /// after interval (a slot's bin is worked out once and then kept).
    #[test]
    fn chart_bins_from_the_flush_equal_those_from_the_histogram(
        intervals in proptest::collection::vec(
            proptest::collection::vec(proptest::prop_oneof![1u64..5_000, 1u64..HIST_MAX_NS], 0..200),
            1..4,
        ),
    ) {
        let (mut via_flush, mut via_hist) = (chart::ChartStore::new(0), chart::ChartStore::new(0));
        let mut fine = Tally::new(HIST_MAX_NS);
        let mut coarse = Tally::with_sigfig(HIST_MAX_NS, INTERVAL_SIGFIG);
        let mut hist = histogram(INTERVAL_SIGFIG);
        let snap = Snapshot::sized(0, 0, 0, 0);
        for values in &intervals {
            for &v in values {
                fine.count(tally::slot(v));
            }
            fine.move_into(&mut coarse, None);
            coarse.flush_into_with(&mut hist, |slot, highest, n| via_flush.add_latency(slot, highest, n));
            via_flush.push_with(&snap, Default::default(), &|_| [0.0; 3]);
            via_hist.push(&snap, &hist, Default::default());
            hist.reset();
        }
        proptest::prop_assert_eq!(&via_flush.buckets, &via_hist.buckets);
        let first = via_flush.buckets[0].latency_quantile_ms(1.0);
        proptest::prop_assert_eq!(first.is_nan(), intervals[0].is_empty());
    }
}
