//! Runs that outlive the call that started them: a flow starts now, is
//! watched step by step, and its wait nodes are answered later, by whoever
//! watches it (a page, a flow engine's own user interface) or by an end
//! user the embedder supplies. `connector-host serve` keeps its runs here.
//!
//! Invariants:
//! - A run belongs to the tenant it was started for (its `owner`); every
//!   other owner gets [`FlowError::UnknownRun`], as for a run that does not
//!   exist, so a caller learns nothing about other tenants' runs.
//! - Nothing waits unbounded: an unanswered wait fails the run after
//!   [`RunLimits::answer_timeout`], a watch returns after the time it asked
//!   for, the engine's own bounds ([`crate::engine::MAX_STEPS`], the
//!   tenant's limits) end a run that keeps going, a watcher may cancel a
//!   run, and at most [`RunLimits::max_live`] runs of one owner (and
//!   [`RunLimits::max_live_total`] in all) are unfinished at once, so one
//!   tenant's abandoned runs never keep another's from starting.
//! - Finished runs are kept for [`RunLimits::keep_for`], at most
//!   [`RunLimits::keep_finished`] of each owner, oldest forgotten first:
//!   one tenant's runs never push out another's.
//!
//! Runs live in the memory of the process that started them: the engine's
//! future holds the run's place in the flow and cannot move elsewhere.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connector_runtime::{Runtime, Tenant};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{oneshot, watch};

use crate::engine::{check_input, Driver, Engine, Step, WaitRequest};
use crate::library::FlowLibrary;
use crate::FlowError;

/// The bounds of a set of runs.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    /// How many runs of one owner may be unfinished (running or waiting)
    /// at once.
    pub max_live: usize,
    /// How many runs may be unfinished at once, all owners together.
    pub max_live_total: usize,
    /// How many finished runs of one owner are kept to be read.
    pub keep_finished: usize,
    /// How long a finished run is kept.
    pub keep_for: Duration,
    /// How long a wait answered by the watcher stays open; then the run
    /// fails, as a DaVinci flow whose user walked away does.
    pub answer_timeout: Duration,
}

impl Default for RunLimits {
    fn default() -> RunLimits {
        RunLimits {
            max_live: 16,
            max_live_total: 256,
            keep_finished: 32,
            keep_for: Duration::from_secs(30 * 60),
            answer_timeout: Duration::from_secs(10 * 60),
        }
    }
}

/// A [`Driver`] behind a box: the end user an embedder supplies for runs it
/// does not answer itself. Every [`Driver`] is one.
pub trait BoxedDriver: Send {
    /// [`Driver::answer`], boxed.
    fn answer_boxed<'a>(
        &'a mut self,
        request: &'a WaitRequest,
    ) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send + 'a>>;

    /// [`Driver::step`].
    fn step_boxed(&mut self, step: &Step);
}

impl<D: Driver> BoxedDriver for D {
    fn answer_boxed<'a>(
        &'a mut self,
        request: &'a WaitRequest,
    ) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send + 'a>> {
        Box::pin(self.answer(request))
    }

    fn step_boxed(&mut self, step: &Step) {
        self.step(step)
    }
}

/// Who answers a run's wait nodes.
pub enum Answerer {
    /// Whoever watches the run, through [`Runs::answer`].
    Watcher,
    /// The end user the embedder supplies (in `serve --dev`, the
    /// emulator's), without the watcher's part.
    EndUser(Box<dyn BoxedDriver>),
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// Running a node.
    Running,
    /// At a wait node, for the watcher's answer.
    Waiting,
    /// At a result node.
    Completed,
    /// Ended by an error (`error` says which node and why).
    Failed,
    /// Stopped by a watcher.
    Cancelled,
}

impl RunStatus {
    /// The status as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Waiting => "WAITING",
            RunStatus::Completed => "COMPLETED",
            RunStatus::Failed => "FAILED",
            RunStatus::Cancelled => "CANCELLED",
        }
    }

    fn finished(self) -> bool {
        !matches!(self, RunStatus::Running | RunStatus::Waiting)
    }
}

/// What a watcher sees of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// The run's id.
    pub id: String,
    /// The flow it runs.
    pub flow_id: String,
    /// Where it is.
    pub status: RunStatus,
    /// Grows with every change; a watch asks for a version past the one it saw.
    pub version: u64,
    /// How many steps it has taken in all.
    pub step_count: usize,
    /// The index of the first step in `steps`.
    pub after: usize,
    /// Its steps from `after` on, in order, sub-flows' included.
    pub steps: Vec<Step>,
    /// What its wait node asks, while it is `WAITING`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitRequest>,
    /// The result node's output, once `COMPLETED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error's object (`kind`, `summary`, `node`, ...), once `FAILED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// `watcher` or `endUser`: who answers its waits.
    pub answered_by: &'static str,
}

/// One run's state.
struct Run {
    owner: String,
    flow_id: String,
    status: RunStatus,
    steps: Vec<Step>,
    /// The open wait and where its answer goes.
    wait: Option<(WaitRequest, oneshot::Sender<Value>)>,
    result: Option<Value>,
    error: Option<Value>,
    answered_by: &'static str,
    finished_at: Option<Instant>,
    /// Stops the run's task (set once it is spawned).
    task: Option<tokio::task::AbortHandle>,
    /// The version, which watchers wait on.
    changed: watch::Sender<u64>,
}

impl Run {
    fn view(&self, id: &str, after: usize) -> RunView {
        let after = after.min(self.steps.len());
        RunView {
            id: id.to_owned(),
            flow_id: self.flow_id.clone(),
            status: self.status,
            version: *self.changed.borrow(),
            step_count: self.steps.len(),
            after,
            steps: self.steps[after..].to_vec(),
            wait: self.wait.as_ref().map(|(request, _)| request.clone()),
            result: self.result.clone(),
            error: self.error.clone(),
            answered_by: self.answered_by,
        }
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v += 1);
    }
}

/// A set of runs. Clone it freely; clones share the runs.
#[derive(Clone, Default)]
pub struct Runs {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    limits: RunLimits,
    runs: Mutex<HashMap<String, Run>>,
}

impl Shared {
    /// Changes run `id` with `change` and tells its watchers.
    fn update(&self, id: &str, change: impl FnOnce(&mut Run)) {
        if let Some(run) = self.runs.lock().unwrap().get_mut(id) {
            change(run);
            run.bump();
        }
    }
}

impl Runs {
    /// No runs yet, with `limits`.
    pub fn new(limits: RunLimits) -> Runs {
        Runs {
            shared: Arc::new(Shared {
                limits,
                runs: Mutex::default(),
            }),
        }
    }

    /// Starts flow `flow_id` of `library` with `input` for `tenant`, which
    /// `owner` names, on a task of the current tokio runtime. The flow and
    /// its input are checked before it starts, so those errors are the
    /// answer to this call.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &self,
        owner: &str,
        runtime: &Runtime,
        tenant: &Tenant,
        library: &Arc<FlowLibrary>,
        flow_id: &str,
        input: Value,
        answerer: Answerer,
    ) -> Result<RunView, FlowError> {
        let flow = library.get(flow_id).ok_or_else(|| FlowError::UnknownFlow {
            flow_id: flow_id.chars().take(128).collect(),
        })?;
        check_input(flow, &input)?;
        let limits = self.shared.limits;
        let id = format!("{:032x}", rand::random::<u128>());
        let view = {
            let mut runs = self.shared.runs.lock().unwrap();
            forget_old(&mut runs, &limits);
            let live = || runs.values().filter(|r| !r.status.finished());
            if live().filter(|r| r.owner == owner).count() >= limits.max_live {
                return Err(FlowError::TooManyRuns {
                    limit: limits.max_live,
                    whose: "this tenant's",
                });
            }
            if live().count() >= limits.max_live_total {
                return Err(FlowError::TooManyRuns {
                    limit: limits.max_live_total,
                    whose: "all tenants'",
                });
            }
            let (changed, _) = watch::channel(0);
            let run = Run {
                owner: owner.to_owned(),
                flow_id: flow_id.to_owned(),
                status: RunStatus::Running,
                steps: Vec::new(),
                wait: None,
                result: None,
                error: None,
                answered_by: match answerer {
                    Answerer::Watcher => "watcher",
                    Answerer::EndUser(_) => "endUser",
                },
                finished_at: None,
                task: None,
                changed,
            };
            let view = run.view(&id, 0);
            runs.insert(id.clone(), run);
            view
        };
        let mut driver = RunDriver {
            shared: self.shared.clone(),
            id: id.clone(),
            end_user: match answerer {
                Answerer::Watcher => None,
                Answerer::EndUser(user) => Some(user),
            },
            answer_timeout: limits.answer_timeout,
        };
        let (runtime, tenant, library) = (runtime.clone(), tenant.clone(), library.clone());
        let flow_id = flow_id.to_owned();
        let shared = self.shared.clone();
        let task_id = id.clone();
        let task = tokio::spawn(async move {
            let outcome = Engine::new(&runtime, &tenant, &library)
                .run(&flow_id, input, &mut driver)
                .await;
            shared.update(&id, |run| {
                run.wait = None;
                run.finished_at = Some(Instant::now());
                match outcome {
                    Ok(done) => {
                        run.status = RunStatus::Completed;
                        run.result = Some(done.result);
                    }
                    Err(e) => {
                        run.status = RunStatus::Failed;
                        run.error = Some(e.to_json()["error"].clone());
                    }
                }
            });
        });
        // A run that already ended keeps the handle harmlessly: aborting a
        // finished task does nothing.
        if let Some(run) = self.shared.runs.lock().unwrap().get_mut(&task_id) {
            run.task = Some(task.abort_handle());
        }
        Ok(view)
    }

    /// Run `id` of `owner`, with its steps from `after` on, once its
    /// version passes `since` or `wait` has gone by, whichever is first.
    pub async fn watch(
        &self,
        owner: &str,
        id: &str,
        after: usize,
        since: u64,
        wait: Duration,
    ) -> Result<RunView, FlowError> {
        let mut changed = {
            let runs = self.shared.runs.lock().unwrap();
            let run = owned(&runs, owner, id)?;
            if *run.changed.borrow() > since || run.status.finished() {
                return Ok(run.view(id, after));
            }
            run.changed.subscribe()
        };
        // Either way the answer is the run as it is now: a timeout is not
        // an error, only a watch that saw nothing new.
        let _ = tokio::time::timeout(wait, changed.wait_for(|v| *v > since)).await;
        let runs = self.shared.runs.lock().unwrap();
        Ok(owned(&runs, owner, id)?.view(id, after))
    }

    /// Answers the wait run `id` of `owner` is at; `node_id`, when given,
    /// must be the waiting node's (so that an answer meant for an earlier
    /// wait is not taken for a later one).
    pub fn answer(
        &self,
        owner: &str,
        id: &str,
        node_id: Option<&str>,
        answer: Value,
    ) -> Result<RunView, FlowError> {
        let mut runs = self.shared.runs.lock().unwrap();
        owned(&runs, owner, id)?;
        let run = runs.get_mut(id).expect("checked above");
        let not_waiting = |message: String| FlowError::NotWaiting {
            run_id: id.to_owned(),
            message,
        };
        let waiting_at = match &run.wait {
            Some((request, _)) => request.node_id.clone(),
            None if run.answered_by == "endUser" => {
                return Err(not_waiting("its end user answers its waits".into()))
            }
            None => {
                return Err(not_waiting(format!(
                    "it is {}, not at a wait",
                    run.status.name()
                )))
            }
        };
        if let Some(node) = node_id.filter(|n| *n != waiting_at) {
            let node: String = node.chars().take(128).collect();
            return Err(not_waiting(format!(
                "it waits at node '{waiting_at}', not '{node}'"
            )));
        }
        let (_, reply) = run.wait.take().expect("checked above");
        run.status = RunStatus::Running;
        // The engine's side went away only when the run ended, which clears
        // the wait first: the send cannot fail while a wait is open.
        let _ = reply.send(answer);
        run.bump();
        Ok(run.view(id, run.steps.len()))
    }

    /// How many runs each owner has in each status (finished ones until
    /// they are forgotten), by owner then status: the service's metrics.
    pub fn census(&self) -> Vec<(String, &'static str, usize)> {
        let mut counts: std::collections::BTreeMap<(String, &'static str), usize> =
            Default::default();
        for run in self.shared.runs.lock().unwrap().values() {
            *counts
                .entry((run.owner.clone(), run.status.name()))
                .or_default() += 1;
        }
        counts
            .into_iter()
            .map(|((owner, status), n)| (owner, status, n))
            .collect()
    }

    /// Cancels run `id` of `owner`: its task stops where it is (an
    /// invocation in flight is dropped, as when a caller goes away) and it
    /// is `CANCELLED`. A run that already ended stays as it ended.
    pub fn cancel(&self, owner: &str, id: &str) -> Result<RunView, FlowError> {
        let mut runs = self.shared.runs.lock().unwrap();
        owned(&runs, owner, id)?;
        let run = runs.get_mut(id).expect("checked above");
        if !run.status.finished() {
            if let Some(task) = run.task.take() {
                task.abort();
            }
            run.status = RunStatus::Cancelled;
            run.wait = None;
            run.finished_at = Some(Instant::now());
            run.bump();
        }
        Ok(run.view(id, run.steps.len()))
    }
}

/// Run `id`, if `owner`'s.
fn owned<'r>(runs: &'r HashMap<String, Run>, owner: &str, id: &str) -> Result<&'r Run, FlowError> {
    runs.get(id)
        .filter(|run| run.owner == owner)
        .ok_or_else(|| FlowError::UnknownRun {
            run_id: id.chars().take(64).collect(),
        })
}

/// Forgets finished runs past their keeping time, then each owner's oldest
/// finished ones past the count kept.
fn forget_old(runs: &mut HashMap<String, Run>, limits: &RunLimits) {
    let now = Instant::now();
    runs.retain(|_, run| {
        run.finished_at
            .is_none_or(|at| now.duration_since(at) < limits.keep_for)
    });
    let mut finished: HashMap<&str, Vec<(Instant, &str)>> = HashMap::new();
    for (id, run) in runs.iter() {
        if let Some(at) = run.finished_at {
            finished.entry(&run.owner).or_default().push((at, id));
        }
    }
    let mut forgotten: Vec<String> = Vec::new();
    for (_, mut theirs) in finished {
        if theirs.len() > limits.keep_finished {
            theirs.sort();
            let excess = theirs.len() - limits.keep_finished;
            forgotten.extend(theirs.into_iter().take(excess).map(|(_, id)| id.to_owned()));
        }
    }
    for id in forgotten {
        runs.remove(&id);
    }
}

/// The engine's driver of one run: steps go to the run, waits to the
/// watcher (or the end user).
struct RunDriver {
    shared: Arc<Shared>,
    id: String,
    end_user: Option<Box<dyn BoxedDriver>>,
    answer_timeout: Duration,
}

impl Driver for RunDriver {
    async fn answer(&mut self, request: &WaitRequest) -> Result<Value, String> {
        if let Some(user) = &mut self.end_user {
            return user.answer_boxed(request).await;
        }
        let (reply, answer) = oneshot::channel();
        self.shared.update(&self.id, |run| {
            run.status = RunStatus::Waiting;
            run.wait = Some((request.clone(), reply));
        });
        match tokio::time::timeout(self.answer_timeout, answer).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err("the wait was closed".into()),
            Err(_) => {
                self.shared.update(&self.id, |run| {
                    run.wait = None;
                    run.status = RunStatus::Running;
                });
                Err(format!(
                    "no answer within {} s",
                    self.answer_timeout.as_secs()
                ))
            }
        }
    }

    fn step(&mut self, step: &Step) {
        if let Some(user) = &mut self.end_user {
            user.step_boxed(step);
        }
        self.shared
            .update(&self.id, |run| run.steps.push(step.clone()));
    }
}

#[cfg(test)]
mod tests;
