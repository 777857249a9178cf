//! A blocking CRI v1 client over a unix socket: tonic's gRPC channel on a current-thread tokio
//! runtime owned by the client. Every call has a deadline, and its error names the RPC.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::client::Grpc;
use tonic::codec::ProstCodec;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint, Uri};

use super::api::*;

const RUNTIME: &str = "/runtime.v1.RuntimeService/";
const IMAGE: &str = "/runtime.v1.ImageService/";

/// An RPC that failed: which one, and why.
#[derive(Debug, thiserror::Error)]
#[error("{rpc}: {why}")]
pub struct CriError {
    pub rpc: &'static str,
    pub why: CallError,
}

/// Why a CRI call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The runtime answered with an error status.
    #[error("{:?}: {}", .0.code(), .0.message())]
    Status(Box<tonic::Status>),
    #[error("connection not ready: {0}")]
    NotReady(tonic::transport::Error),
    #[error("no answer within {} s", .0.as_secs())]
    Timeout(Duration),
    /// An answer without a field assay needs.
    #[error("answer without {0}")]
    Incomplete(&'static str),
    #[error("{0}")]
    Path(tonic::codegen::http::uri::InvalidUri),
    /// A task that made calls concurrently panicked or was cancelled.
    #[error("{0}")]
    Task(tokio::task::JoinError),
}

impl CallError {
    /// Whether the runtime answered NotFound (e.g. for a container already removed).
    pub fn is_not_found(&self) -> bool {
        matches!(self, CallError::Status(s) if s.code() == tonic::Code::NotFound)
    }
}

/// The client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("CRI client: start tokio: {0}")]
    Runtime(std::io::Error),
    #[error("CRI connect `{}`: {source}", socket.display())]
    Socket {
        socket: PathBuf,
        source: tonic::transport::Error,
    },
}

/// A connected CRI client; [`Cri::block_on`] runs [`Handle`] calls on its own runtime.
pub struct Cri {
    rt: tokio::runtime::Runtime,
    pub h: Handle,
}

/// The calls, as futures: cheap to clone, so several can run at once (`tokio::spawn`).
#[derive(Clone)]
pub struct Handle {
    grpc: Grpc<Channel>,
    timeout: Duration,
}

impl Cri {
    /// Connects to the CRI socket; `timeout` bounds every call made later.
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Cri, ConnectError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(ConnectError::Runtime)?;
        let path = socket.to_path_buf();
        let channel = rt
            .block_on(async {
                // The authority is unused: every connection goes to the socket.
                Endpoint::from_static("http://cri.local")
                    .connect_timeout(timeout)
                    .connect_with_connector(tower::service_fn(move |_: Uri| {
                        let path = path.clone();
                        async move { UnixStream::connect(path).await.map(TokioIo::new) }
                    }))
                    .await
            })
            .map_err(|source| ConnectError::Socket {
                socket: socket.to_path_buf(),
                source,
            })?;
        Ok(Cri {
            rt,
            h: Handle {
                grpc: Grpc::new(channel),
                timeout,
            },
        })
    }

    /// Waits for `f` (calls of [`Cri::h`], or several of them spawned) on this client's runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

impl Handle {
    /// One unary call: `service` is [`RUNTIME`] or [`IMAGE`].
    async fn unary<Req, Resp>(
        &self,
        service: &'static str,
        method: &'static str,
        req: Req,
    ) -> Result<Resp, CriError>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let err = |why: CallError| CriError { rpc: method, why };
        let path = PathAndQuery::try_from(format!("{service}{method}"))
            .map_err(|e| err(CallError::Path(e)))?;
        let mut grpc = self.grpc.clone();
        let call = async {
            grpc.ready()
                .await
                .map_err(|e| err(CallError::NotReady(e)))?;
            grpc.unary(tonic::Request::new(req), path, ProstCodec::default())
                .await
                .map(|r| r.into_inner())
                .map_err(|s| err(CallError::Status(Box::new(s))))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| err(CallError::Timeout(self.timeout)))?
    }

    pub async fn version(&self) -> Result<VersionResponse, CriError> {
        let req = VersionRequest {
            version: "v1".into(),
        };
        self.unary(RUNTIME, "Version", req).await
    }

    pub async fn image_status(&self, image: &str) -> Result<Option<Image>, CriError> {
        let req = ImageStatusRequest {
            image: Some(ImageSpec {
                image: image.into(),
            }),
        };
        let resp: ImageStatusResponse = self.unary(IMAGE, "ImageStatus", req).await?;
        Ok(resp.image)
    }

    pub async fn run_pod_sandbox(
        &self,
        config: PodSandboxConfig,
        handler: &str,
    ) -> Result<String, CriError> {
        let req = RunPodSandboxRequest {
            config: Some(config),
            runtime_handler: handler.into(),
        };
        let resp: RunPodSandboxResponse = self.unary(RUNTIME, "RunPodSandbox", req).await?;
        Ok(resp.pod_sandbox_id)
    }

    pub async fn stop_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        let req = PodSandboxIdRequest {
            pod_sandbox_id: id.into(),
        };
        self.unary(RUNTIME, "StopPodSandbox", req)
            .await
            .map(|_: Empty| ())
    }

    pub async fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        let req = PodSandboxIdRequest {
            pod_sandbox_id: id.into(),
        };
        self.unary(RUNTIME, "RemovePodSandbox", req)
            .await
            .map(|_: Empty| ())
    }

    pub async fn create_container(
        &self,
        pod: &str,
        config: ContainerConfig,
        sandbox: PodSandboxConfig,
    ) -> Result<String, CriError> {
        let req = CreateContainerRequest {
            pod_sandbox_id: pod.into(),
            config: Some(config),
            sandbox_config: Some(sandbox),
        };
        let resp: CreateContainerResponse = self.unary(RUNTIME, "CreateContainer", req).await?;
        Ok(resp.container_id)
    }

    pub async fn start_container(&self, id: &str) -> Result<(), CriError> {
        let req = ContainerIdRequest {
            container_id: id.into(),
        };
        self.unary(RUNTIME, "StartContainer", req)
            .await
            .map(|_: Empty| ())
    }

    pub async fn stop_container(&self, id: &str, timeout_s: i64) -> Result<(), CriError> {
        let req = StopContainerRequest {
            container_id: id.into(),
            timeout: timeout_s,
        };
        self.unary(RUNTIME, "StopContainer", req)
            .await
            .map(|_: Empty| ())
    }

    pub async fn remove_container(&self, id: &str) -> Result<(), CriError> {
        let req = ContainerIdRequest {
            container_id: id.into(),
        };
        self.unary(RUNTIME, "RemoveContainer", req)
            .await
            .map(|_: Empty| ())
    }

    pub async fn container_status(
        &self,
        id: &str,
        verbose: bool,
    ) -> Result<ContainerStatusResponse, CriError> {
        let req = ContainerStatusRequest {
            container_id: id.into(),
            verbose,
        };
        self.unary(RUNTIME, "ContainerStatus", req).await
    }

    pub async fn exec_sync(
        &self,
        id: &str,
        cmd: &[&str],
        timeout_s: i64,
    ) -> Result<ExecSyncResponse, CriError> {
        let req = ExecSyncRequest {
            container_id: id.into(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout: timeout_s,
        };
        self.unary(RUNTIME, "ExecSync", req).await
    }

    pub async fn update_container_resources(
        &self,
        id: &str,
        resources: LinuxContainerResources,
    ) -> Result<(), CriError> {
        let req = UpdateContainerResourcesRequest {
            container_id: id.into(),
            linux: Some(resources),
        };
        self.unary(RUNTIME, "UpdateContainerResources", req)
            .await
            .map(|_: Empty| ())
    }

    pub async fn container_stats(&self, id: &str) -> Result<ContainerStats, CriError> {
        let req = ContainerIdRequest {
            container_id: id.into(),
        };
        let resp: ContainerStatsResponse = self.unary(RUNTIME, "ContainerStats", req).await?;
        resp.stats.ok_or(CriError {
            rpc: "ContainerStats",
            why: CallError::Incomplete("stats"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_socket_is_one_error_naming_it() {
        let e = Cri::connect(Path::new("/nonexistent/cri.sock"), Duration::from_secs(1))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("/nonexistent/cri.sock"), "{e}");
    }
}
