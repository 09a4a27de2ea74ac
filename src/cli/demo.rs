//! `hubforce demo`: the whole product on the embedded simulator.

use super::*;

pub(super) async fn demo(args: &DemoArgs) -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start(base_config(&args.data)).await?;
    hubforce::demo::run(&sim).await?;
    sim.shutdown().await;
    Ok(())
}
