//! The one place the decision path is built from a [`Config`]: `[SignalStage, ExecStage<V>]`.
//! The `mia` binary, the tests and the benches all call [`build_stages`].

use crate::app::config::Config;
use mia_exec::exec_stage::{ExecStage, TradeMark, Trading};
use mia_exec::sim::SimVenue;
use mia_exec::venue::{LiveVenue, Venue};
use mia_model::features::FeatureSnapshot;
use mia_model::msg::OrderIntent;
use mia_options::levels::GammaLevels;
use mia_runtime::metrics::LiveMetrics;
use mia_runtime::pipeline::tap::Tap;
use mia_runtime::stage::Stage;
use mia_signal::engine::profiles::ProfileName;
use mia_signal::gates::gamma::GammaBoard;
use mia_signal::stage::SignalStage;
use std::sync::Arc;

/// Which venue the exec stage trades through (a run mode is a choice of source × venue).
pub enum VenueChoice {
    /// The simulated exchange (backtest, replay of a simulated session, paper).
    Sim,
    /// An edge thread reached through this order ring; its reports come back as side inputs.
    Live(rtrb::Producer<OrderIntent>),
    /// A live session's journal replayed: the reports are in the input stream.
    LiveReplay,
    /// No trading (`mia collect`): the signal stage runs (features, snapshots), no exec stage.
    Off,
}

/// What the stages are built with besides the config.
pub struct StageParts {
    /// The gamma snapshot known before the first input (the session opens with it).
    pub gamma_open: Option<GammaLevels>,
    /// Where announced gamma publications are read from.
    pub board: Option<Arc<GammaBoard>>,
    /// The venue.
    pub venue: VenueChoice,
    /// Instrument id carried by orders.
    pub instrument_id: u32,
    /// Where the signal stage sends its feature snapshots (the features journal).
    pub snapshot_tap: Option<Tap<FeatureSnapshot>>,
    /// The signal-engine profile in force.
    pub profile: ProfileName,
    /// Live metrics the stages publish into (a monitored session; `docs/monitoring.md`).
    pub metrics: Option<Arc<LiveMetrics>>,
    /// Where the exec stage sends its entry and exit marks (the trade snapshots).
    pub trade_tap: Option<Tap<TradeMark>>,
    /// The ML entry filter's opening model and publication board (none: filter off).
    pub models: crate::ml::SessionModels,
}

impl Default for StageParts {
    fn default() -> Self {
        Self {
            gamma_open: None,
            board: None,
            venue: VenueChoice::Sim,
            instrument_id: 0,
            snapshot_tap: None,
            profile: ProfileName::Backtest,
            metrics: None,
            trade_tap: None,
            models: crate::ml::SessionModels::default(),
        }
    }
}

/// Builds `[SignalStage, ExecStage<venue>]` for `cfg` (a validated config).
pub fn build_stages(cfg: &Config, parts: StageParts) -> Vec<Box<dyn Stage>> {
    let contract = cfg.trading.instrument.spec();
    let mut signal = SignalStage::new(&cfg.signal_stage(parts.profile), contract.tick);
    if let Some(l) = parts.gamma_open {
        signal.open_with_gamma(l);
    }
    if let Some(b) = parts.board {
        signal.attach_board(b);
    }
    if let Some(t) = parts.snapshot_tap {
        signal.attach_snapshot_tap(t);
    }
    if let Some(m) = &parts.metrics {
        signal.attach_metrics(Arc::clone(m));
    }
    if let Some(m) = parts.models.opening {
        signal.set_model(m);
    }
    if let Some(b) = parts.models.board {
        signal.attach_model_board(b);
    }
    let trading = Trading { contract, order_qty: cfg.trading.order_qty, instrument_id: parts.instrument_id };
    let (metrics, tap) = (parts.metrics, parts.trade_tap);
    let exec: Box<dyn Stage> = match parts.venue {
        VenueChoice::Off => return vec![Box::new(signal)],
        VenueChoice::Sim => {
            let venue = SimVenue::new(cfg.sim.clone(), contract).with_fees(&cfg.fees);
            exec_stage(ExecStage::new(&cfg.risk, venue, trading), metrics, tap)
        }
        VenueChoice::Live(tx) => {
            exec_stage(ExecStage::new(&cfg.risk, LiveVenue::new(tx), trading), metrics, tap)
        }
        VenueChoice::LiveReplay => {
            exec_stage(ExecStage::new(&cfg.risk, LiveVenue::replay(), trading), metrics, tap)
        }
    };
    vec![Box::new(signal), exec]
}

fn exec_stage<V: Venue + 'static>(
    mut st: ExecStage<V>,
    metrics: Option<Arc<LiveMetrics>>,
    tap: Option<Tap<TradeMark>>,
) -> Box<dyn Stage> {
    // the signals reach the output tap: the journal records them (kind 2)
    st.forward_signals(true);
    if let Some(m) = metrics {
        st.attach_metrics(m);
    }
    if let Some(t) = tap {
        st.attach_trade_tap(t);
    }
    Box::new(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mia_model::contract::Root;
    use mia_model::event::{flags, Event, Side};
    use mia_model::msg::{Envelope, Msg};
    use mia_runtime::stage::{Outbox, StageReport};

    /// The config reaches the stages: a venue latency from `[sim.latency]`, a fee schedule from
    /// `[fees]`, the queue model of `[sim.queue]` and an order size from `[trading]` change what
    /// the exec stage does and what it reports.
    #[test]
    fn config_fields_reach_the_stages() {
        let mut cfg = Config::default();
        cfg.signal.strategy = mia_signal::strategy::registry::StrategyKind::Threshold;
        cfg.trading.instrument = Root::Mes;
        cfg.trading.order_qty = 2;
        cfg.fees.mes = mia_exec::fees::ProductFees {
            tier_max_contracts: vec![],
            commission_usd: vec![0.5],
            exchange_usd: 0.3,
            clearing_usd: 0.1,
            nfa_usd: 0.1,
        };
        cfg.sim.latency.entry_ns = 0;
        cfg.sim.queue.model = mia_exec::queue::QueueModelKind::Log;
        cfg.signal.threshold.delta_entry = 1;
        cfg.signal.threshold.cooldown_ms = 0;
        // A plain target position (no bracket children): one intent, one fill.
        cfg.signal.threshold.stop_points = 0.0;
        cfg.signal.threshold.target_points = 0.0;
        let mut s = build_stages(&cfg, StageParts { instrument_id: 9, ..StageParts::default() });
        assert_eq!(s.iter().map(|s| s.name()).collect::<Vec<_>>(), ["signal", "exec"]);
        let p = 1_000_000_000i64;
        let evs = [
            Event::level(1, 1, Side::Bid, 0, 4000 * p, 90, 1, 0),
            Event::level(1, 1, Side::Ask, 0, 4000 * p + p / 4, 10, 1, flags::LAST),
            Event::trade(2, 2, Side::Bid, 4000 * p + p / 4, 5, flags::LAST),
            Event::level(3, 3, Side::Ask, 0, 4000 * p + p / 4, 10, 1, flags::LAST),
        ];
        let mut intents = Vec::new();
        let mut fills = Vec::new();
        for e in evs {
            let mut a = Outbox::new();
            s[0].on_envelope(&Envelope { t0: 0, msg: Msg::Market(e) }, &mut a);
            for env in a.as_slice() {
                let mut b = Outbox::new();
                s[1].on_envelope(env, &mut b);
                for o in b.as_slice() {
                    match o.msg {
                        Msg::Intent(i) => intents.push(i),
                        Msg::Fill(f) => fills.push(f),
                        _ => {}
                    }
                }
            }
        }
        assert_eq!(intents.len(), 1);
        assert_eq!((intents[0].qty, intents[0].instrument_id), (2, 9), "order_qty and instrument id");
        assert_eq!(fills.iter().map(|f| f.fee.nano()).sum::<i64>(), 2_000_000_000, "1 USD × 2 contracts");
        let mut r = StageReport::default();
        s[1].report(&mut r);
        assert_eq!(r.counter("exec.intents"), 1);
        let venue = r.get_note("venue").expect("the exec stage names its venue");
        assert!(venue.starts_with("sim (queue: log, latency: constant(0+U[0,0] ns"), "{venue}");
        assert!(venue.contains("fees: MES flat commission 0.50 USD + exchange 0.30"), "{venue}");
    }
}
