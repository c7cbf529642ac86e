//! Two parts of one invocation, each measured alone through the runtime's
//! benchmark-only probes: creating the `Store` and instantiating from the
//! pool (`probe_instantiate`), and the schema validation of an input and an
//! output (`probe_validate`, the same size check, parse and JSON Schema check
//! an invocation runs). The first samples of each are dropped as warm-up.

use std::time::Instant;

use crate::stats::{fmt3, spread, us};
use crate::world::{Cap, World};

/// One capability's validation samples, with the sizes of the input and the
/// output they validated.
pub type Validation = (Cap, Vec<f64>, usize, usize);

/// Instantiate alone: (`Store::new` us, instantiate us), 2,500 samples each.
pub async fn instantiate(world: &World) -> (Vec<f64>, Vec<f64>) {
    let mut store_us = Vec::new();
    let mut inst_us = Vec::new();
    for i in 0..3000 {
        let (s, t) = world
            .pingone()
            .probe_instantiate(&world.tenant)
            .await
            .expect("instantiate");
        if i >= 500 {
            store_us.push(us(s));
            inst_us.push(us(t));
        }
    }
    (store_us, inst_us)
}

/// Schema validation alone (input + output, parse included), for every
/// capability. The output is a real one, from one host invocation.
pub async fn validation(world: &World) -> Vec<Validation> {
    let mut validate = Vec::new();
    for cap in Cap::ALL {
        let load = world.workload(cap, 1).await;
        let output = world.host_call(cap, &load.host[0]).await.to_string();
        let load = world.workload(cap, 1).await;
        let mut samples = Vec::new();
        for i in 0..3000 {
            let t = Instant::now();
            world
                .pingone()
                .probe_validate(cap.id(), &load.host[0], &output)
                .expect("valid");
            if i >= 300 {
                samples.push(us(t.elapsed()));
            }
        }
        validate.push((cap, samples, load.host[0].len(), output.len()));
    }
    validate
}

pub fn print(inst: (Vec<f64>, Vec<f64>), validate: Vec<Validation>) {
    let (store_us, inst_us) = inst;
    let (mut s, mut i) = (store_us, inst_us);
    println!("## Parts of one invocation\n");
    println!(
        "{:<46} {}",
        "Store::new (WasiCtx, limits) us",
        fmt3(spread(&mut s))
    );
    println!(
        "{:<46} {}",
        "instantiate from the pool (InstancePre) us",
        fmt3(spread(&mut i))
    );
    for (cap, mut samples, inb, outb) in validate {
        println!(
            "{:<46} {}   (input {inb} B, output {outb} B)",
            format!("schema validation in+out, {} us", cap.title()),
            fmt3(spread(&mut samples))
        );
    }
    println!();
}
