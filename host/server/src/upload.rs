//! An upload's bytes as they arrive, held to the server's limits: no more
//! than the body limit, and no slower than the minimum rate once the grace
//! period is over (a client sending a byte a second is answered 408 instead
//! of holding a connection and a conversion slot for days).

use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};

use super::config::ServerLimits;
use super::error::ApiError;

/// The limits an upload is held to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UploadLimits {
    /// The most bytes.
    pub max_bytes: u64,
    /// The slowest average rate, in bytes per second.
    pub min_bytes_per_second: u64,
    /// How long before the rate is judged.
    pub grace: Duration,
}

impl UploadLimits {
    /// The limits of file uploads (conversions and jobs).
    pub fn for_files(limits: &ServerLimits) -> UploadLimits {
        UploadLimits {
            max_bytes: limits.max_body_bytes,
            min_bytes_per_second: limits.min_upload_bytes_per_second,
            grace: Duration::from_secs(limits.upload_grace_seconds),
        }
    }
}

/// The chunks of an upload, each checked against [`UploadLimits`].
pub(crate) struct Upload<S> {
    stream: S,
    limits: UploadLimits,
    started: Instant,
    total: u64,
}

impl<S, E> Upload<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    /// Starts the clock on an upload.
    pub fn new(stream: S, limits: UploadLimits) -> Upload<S> {
        Upload {
            stream,
            limits,
            started: Instant::now(),
            total: 0,
        }
    }

    /// The moment the upload becomes too slow if no more bytes arrive.
    fn too_slow_at(&self) -> Instant {
        let rate = self.limits.min_bytes_per_second.max(1);
        let earned = Duration::from_secs_f64(self.total as f64 / rate as f64);
        self.started + earned.max(self.limits.grace)
    }

    /// The next chunk, `None` at the end, or the limit it broke.
    pub async fn next(&mut self) -> Option<Result<Bytes, ApiError>> {
        let next = if self.limits.min_bytes_per_second == 0 {
            self.stream.next().await
        } else {
            let deadline = tokio::time::Instant::from_std(self.too_slow_at());
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(next) => next,
                Err(_) => return Some(Err(self.too_slow())),
            }
        };
        Some(match next? {
            Ok(chunk) => {
                self.total += chunk.len() as u64;
                if self.total > self.limits.max_bytes {
                    Err(ApiError::body_too_large(self.limits.max_bytes))
                } else {
                    Ok(chunk)
                }
            }
            Err(e) => Err(ApiError::new(
                super::error::ApiCode::UploadBroken,
                format!("the upload broke off: {e}"),
            )),
        })
    }

    fn too_slow(&self) -> ApiError {
        let rate = self.limits.min_bytes_per_second;
        ApiError::new(super::error::ApiCode::UploadTooSlow, format!(
                "the upload sent {} bytes in {:.0} s, slower than this server's minimum of {rate} bytes/s; send the file over a faster link or in one go",
                self.total,
                self.started.elapsed().as_secs_f64()
            ),
        )
        .with_details(serde_json::json!({ "received_bytes": self.total, "min_bytes_per_second": rate }))
    }
}

/// The middleware that holds every request body to the minimum upload
/// rate, so that no route (publishing, a multipart preamble) lets a client
/// dribble a body for ever. Routes that convert the body check it
/// themselves with better answers: this check comes two seconds later.
pub(crate) async fn cut_off_slow_bodies(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<super::AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut limits = UploadLimits::for_files(&state.config.limits);
    limits.max_bytes = u64::MAX;
    limits.grace += Duration::from_secs(2);
    let request = request.map(|body| {
        let upload = Upload::new(body.into_data_stream(), limits);
        let chunks = futures_util::stream::unfold(upload, |mut upload| async move {
            let chunk = upload.next().await?;
            let chunk =
                chunk.map_err(|e| std::io::Error::new(std::io::ErrorKind::TimedOut, e.message));
            Some((chunk, upload))
        });
        axum::body::Body::from_stream(chunks)
    });
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> UploadLimits {
        UploadLimits {
            max_bytes: 10,
            min_bytes_per_second: 1000,
            grace: Duration::from_millis(200),
        }
    }

    #[tokio::test]
    async fn a_trickle_is_cut_off_after_the_grace_period() {
        let trickle = futures_util::stream::unfold(0, |n| async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), n + 1))
        });
        let mut upload = Upload::new(Box::pin(trickle), limits());
        let started = Instant::now();
        let mut failure = None;
        while let Some(chunk) = upload.next().await {
            if let Err(e) = chunk {
                failure = Some(e);
                break;
            }
        }
        let failure = failure.expect("the trickle is refused");
        assert_eq!(failure.code, crate::error::ApiCode::UploadTooSlow);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused() {
        let chunks = futures_util::stream::iter(
            [b"123456".as_slice(), b"789012"].map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
        );
        let mut upload = Upload::new(chunks, limits());
        assert!(upload.next().await.unwrap().is_ok());
        let err = upload.next().await.unwrap().unwrap_err();
        assert_eq!(err.code, crate::error::ApiCode::BodyTooLarge);
    }
}
