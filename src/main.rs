use std::process::ExitCode;

/// mimalloc rather than glibc's allocator, in which a busy server spent a tenth of its time
/// and which kept the memory of a login flood long after it ended.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match custodian::cli::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
