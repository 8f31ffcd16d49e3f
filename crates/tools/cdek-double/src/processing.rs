//! The asynchronous half of CDEK: every accepted request (CREATE, DELETE, CREATE_REFUSAL)
//! is decided once the processing delay has passed, in the order the requests arrived.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use crate::store::{Job, Shared};

pub async fn run(shared: Arc<Shared>, mut jobs: UnboundedReceiver<Job>, cancel: CancellationToken) {
    loop {
        let job = tokio::select! {
            () = cancel.cancelled() => return,
            job = jobs.recv() => match job {
                Some(job) => job,
                None => return,
            },
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep_until(job.due.into()) => {}
        }
        shared.process(job);
    }
}
