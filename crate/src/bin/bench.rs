//! Speed benchmarks on the real data, to compare with the scikit-learn and PyTorch peers
//! (`../shared/peers/`). Each workload prints, as its last line,
//! `<workload> seconds=<s> accuracy=<a>`.
//!
//!     cargo run --release -p fashion-lab --bin bench -- knn-full

use std::process::ExitCode;
use std::time::Instant;

use fashion_lab::error::Result;
use fashion_lab::models::{KnnClassifier, KnnWeights};
use fashion_lab::nn::{softmax_cross_entropy, Activation, FlushSubnormals, Products, Sequential};
use fashion_lab::train::{fit_in, Optimizer, RunStore, TrainConfig};
use fashion_lab::{accuracy, scale_255, Classifier, FashionMnist, MinMaxScaler, Scale255, Scaler};

const WORKLOADS: &[(&str, &str)] = &[
    (
        "knn-full",
        "k-NN k=5 (uniform), all 60k train vs the 10k test set, exact search on pixels (= pixels/255 ranking)",
    ),
    (
        "mlp-epoch",
        "MLP 784-256-128-64-10 ReLU, Adam 1e-3, batch 128, pixels/255: median seconds per epoch over 5, test accuracy after 5",
    ),
    (
        "mlp-long",
        "notebook 01's base MLP (784-256-128-64-10 ReLU, scikit-learn's Adam 1e-3, L2 1e-4, batch 200, 52.5k images scaled to [-1, 1]) for EPOCHS epochs (default 40): seconds and subnormal values per epoch",
    ),
    (
        "mlp-profile",
        "where mlp-epoch's time goes: milliseconds per step in each layer, forward and backward",
    ),
    (
        "cnn-profile",
        "where cnn-epoch's time goes: milliseconds per step in each layer, forward and backward",
    ),
    (
        "cnn-epoch",
        "report 001's CNN (conv 32/64/128 3x3 same, max-pool, dense 128, dropout 0.5), Adam, batch 128, one epoch on 54k, the convolutions' products as a model built here has them (Products::preferred: bf16 on AMX, else f32; printed): seconds, test accuracy",
    ),
    (
        "cnn-epoch-f32",
        "cnn-epoch with the convolutions' products in f32",
    ),
    (
        "cnn-epoch-bf16",
        "cnn-epoch with the convolutions' products on bf16 inputs, f32 sums (Products::Bf16; f32 where the CPU lacks AVX-512 BF16)",
    ),
    (
        "cnn-profile-bf16",
        "cnn-profile with the convolutions' products on bf16 inputs",
    ),
    (
        "cnn-profile-f32",
        "cnn-profile with the convolutions' products in f32",
    ),
    (
        "cnn-bf16-accuracy",
        "report 001's CNN trained EPOCHS epochs (default 10) on 54k, batch 128, Adam, with f32 and with bf16 products, for SEEDS seeds from FIRST_SEED (defaults 3 and 0; each seed the same weights and batches for both): test accuracy of each, and the mean of bf16 - f32 in points (printed as accuracy=)",
    ),
    (
        "store-overhead",
        "what keeping trainings costs (runs/, train/store.rs): mlp-epoch's MLP, 8 epochs on 60k with the 10k test set as validation, trained with the store off and on (a fresh folder each time: key, checkpoints, the kept result), alternating, twice: the extra seconds of the faster 'on' over the faster 'off'; each 'on' prints what the store cost it; then report 001's CNN, 3 epochs on 12k with the store, for the cost of its checkpoints",
    ),
    (
        "logistic",
        "multinomial logistic regression (our L-BFGS on f32 matrix products, L2 alpha=1), 60k train, 100 L-BFGS iterations, pixels/255: fit seconds, test accuracy",
    ),
    (
        "serve-load",
        "fashion-lab serve over loopback (build with --features serve): 16 clients upload the 4 example pictures 25 times each at once; all answered?, p50 / p99 latency, requests per second (MODEL= a model file, else models/02-deep-cnn.safetensors, else report 001's CNN trained 1 epoch on 6k)",
    ),
    (
        "serve-one",
        "one picture at a time through the deployment path (build with --features serve), 200 times over the 4 example pictures: in process (decode, 28×28, scale, the CNN, softmax) and as an upload to fashion-lab serve over loopback; p50 / p99 milliseconds (the model as serve-load's)",
    ),
];

fn knn_full() -> Result<(f64, f64)> {
    let data = FashionMnist::load()?;
    let model = KnnClassifier::params()
        .k(5)
        .weights(KnnWeights::Uniform)
        .fit_pixels(&data.train)?;
    let started = Instant::now();
    let predicted = model.predict_pixels(&data.test.images)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((seconds, accuracy(&predicted, &data.test.labels)?))
}

fn mlp_epoch() -> Result<(f64, f64)> {
    let data = FashionMnist::load()?;
    let (train, test) = (
        Scale255.labelled(&data.train)?,
        Scale255.labelled(&data.test)?,
    );
    let mut model = Sequential::mlp(784, &[256, 128, 64], Activation::Relu, 0.0, 10).build(0)?;
    let config = TrainConfig::default()
        .batch_size(128)
        .optimizer(Optimizer::adam())
        .epochs(5)
        .verbose(true);
    let history = fit_in(&RunStore::off(), &mut model, &train, None, &config)?;
    let mut per_epoch: Vec<f64> = history.epochs.iter().map(|e| e.seconds).collect();
    per_epoch.sort_by(f64::total_cmp);
    let acc = model.score(&test)?;
    Ok((per_epoch[per_epoch.len() / 2], acc))
}

/// Subnormal (denormal) values among `values`: each one makes the arithmetic that touches it
/// slow unless the core flushes them to zero.
fn subnormals<'a>(values: impl IntoIterator<Item = &'a ndarray::Array2<f32>>) -> usize {
    values
        .into_iter()
        .map(|a| a.iter().filter(|v| v.is_subnormal()).count())
        .sum()
}

/// Training slows as the loss falls, unless subnormals are flushed: notebook 01's base MLP
/// trained as `fit` does (the same steps), printing each epoch's seconds and how many
/// subnormal values the weights, their gradients, the optimiser's accumulators and the last
/// batch's loss gradient hold.
fn mlp_long() -> Result<(f64, f64)> {
    use fashion_lab::base::{permutation, rng};
    use fashion_lab::train::forward_backward;
    let epochs = env_count("EPOCHS", 40)?.max(1);
    let seed = 42;
    let all = FashionMnist::load()?
        .all()
        .stratified_subset(70_000, seed)?;
    let parts = all.stratified_split(&[0.75, 0.125, 0.125], seed)?;
    let scaler = MinMaxScaler::new(-1.0, 1.0).fit(&parts[0].pixels_f32())?;
    let (train, test) = (scaler.labelled(&parts[0])?, scaler.labelled(&parts[2])?);
    let mut model = Sequential::mlp(784, &[256, 128, 64], Activation::Relu, 0.0, 10).build(seed)?;
    let mut state = Optimizer::sklearn_adam(1e-3).start();
    let _flush = FlushSubnormals::new(); // as `fit` does
    let (x, labels) = (train.features(), train.labels());
    let (batch_size, alpha) = (200, 1e-4f32);
    let mut order_rng = rng(seed);
    let mut seconds = Vec::with_capacity(epochs);
    for epoch in 1..=epochs {
        let started = Instant::now();
        let order = permutation(x.nrows(), &mut order_rng);
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        let mut last_grad = ndarray::Array2::<f32>::zeros((0, 0));
        for batch in order.chunks(batch_size) {
            let xb = x.select(ndarray::Axis(0), batch);
            let yb = labels.select(ndarray::Axis(0), batch);
            let step = forward_backward(&mut model, &xb, &yb);
            loss_sum += f64::from(step.loss) * batch.len() as f64;
            correct += step.correct;
            state.update(&mut model.params_mut(), alpha / batch.len() as f32);
            last_grad = step.logit_grad;
        }
        let s = started.elapsed().as_secs_f64();
        seconds.push(s);
        let params = model.params_mut();
        println!(
            "epoch {epoch:>3} · {s:.2} s · loss {:.4} · acc {:.4} · subnormals: weights {} · gradients {} · optimiser {} · loss gradient {}",
            loss_sum / x.nrows() as f64,
            correct as f64 / x.nrows() as f64,
            subnormals(params.iter().map(|p| &p.value)),
            subnormals(params.iter().map(|p| &p.grad)),
            subnormals(state.accumulators()),
            subnormals([&last_grad]),
        );
    }
    let acc = model.score(&test)?;
    let (first, last) = (
        seconds[..3.min(epochs)].iter().sum::<f64>(),
        seconds[epochs.saturating_sub(3)..].iter().sum::<f64>(),
    );
    println!(
        "first 3 epochs {:.2} s/epoch, last 3 {:.2} s/epoch, total {:.1} s",
        first / 3.0f64.min(epochs as f64),
        last / 3.0f64.min(epochs as f64),
        seconds.iter().sum::<f64>()
    );
    Ok((seconds.iter().sum::<f64>() / epochs as f64, acc))
}

/// A whole number from the environment variable `name`, else `default`.
fn env_count(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| {
            fashion_lab::Error::InvalidInput(format!("{name}={v}: not a whole number"))
        }),
        Err(_) => Ok(default),
    }
}

/// Whether bf16 products keep the CNN's test accuracy: per seed, the same initial weights and
/// batch order trained once in f32 and once in bf16 (the goal: within 0.2 points).
fn cnn_bf16_accuracy() -> Result<(f64, f64)> {
    let (epochs, seeds, first_seed) = (
        env_count("EPOCHS", 10)?.max(1),
        env_count("SEEDS", 3)?.max(1),
        env_count("FIRST_SEED", 0)?,
    );
    let data = FashionMnist::load()?;
    let train = data.train.select(&(0..54_000).collect::<Vec<_>>())?;
    let (train, test) = (Scale255.labelled(&train)?, Scale255.labelled(&data.test)?);
    let start = Instant::now();
    let mut differences = Vec::new();
    for seed in first_seed as u64..(first_seed + seeds) as u64 {
        let mut accuracy = [0.0; 2];
        for (i, products) in [Products::F32, Products::Bf16].into_iter().enumerate() {
            let mut model = fashion_lab::nn::zoo::report_001_cnn().build(seed)?;
            model.set_products(products);
            let config = TrainConfig::default()
                .batch_size(128)
                .optimizer(Optimizer::adam())
                .epochs(epochs)
                .seed(seed);
            let history = fit_in(&RunStore::off(), &mut model, &train, None, &config)?;
            accuracy[i] = model.score(&test)?;
            println!(
                "seed {seed} {products:?}: test accuracy {:.4} after {epochs} epochs ({:.0} s)",
                accuracy[i],
                history.seconds()
            );
        }
        differences.push(100.0 * (accuracy[1] - accuracy[0]));
    }
    let mean = differences.iter().sum::<f64>() / differences.len() as f64;
    println!(
        "bf16 - f32, points: {} (mean {mean:+.2})",
        differences
            .iter()
            .map(|d| format!("{d:+.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok((start.elapsed().as_secs_f64(), mean))
}

fn cnn_epoch(products: Products) -> Result<(f64, f64)> {
    let data = FashionMnist::load()?;
    let train = data.train.select(&(0..54_000).collect::<Vec<_>>())?;
    let (train, test) = (Scale255.labelled(&train)?, Scale255.labelled(&data.test)?);
    let mut model = report_001_cnn()?;
    model.set_products(products);
    println!("convolutions' products: {products:?}");
    let config = TrainConfig::default()
        .batch_size(128)
        .optimizer(Optimizer::adam())
        .epochs(1)
        .verbose(true);
    let history = fit_in(&RunStore::off(), &mut model, &train, None, &config)?;
    let acc = model.score(&test)?;
    Ok((history.seconds(), acc))
}

/// Milliseconds per training step spent in each layer's forward and backward pass (and the
/// optimiser), report 001's CNN, batch 128 — where the time of `cnn-epoch` goes.
fn cnn_profile(products: Products) -> Result<(f64, f64)> {
    let mut model = report_001_cnn()?;
    model.set_products(products);
    println!("convolutions' products: {products:?}");
    profile(model, 30, 54_000)
}

/// As `cnn-profile`, for `mlp-epoch`'s MLP.
fn mlp_profile() -> Result<(f64, f64)> {
    let model = Sequential::mlp(784, &[256, 128, 64], Activation::Relu, 0.0, 10).build(0)?;
    profile(model, 400, 60_000)
}

/// Times `steps` training steps of `model` (Adam, batch 128, pixels/255) layer by layer, after
/// 10 steps of warm-up; the time per step is scaled to an epoch of `epoch_rows` rows.
fn profile(model: fashion_lab::Model, steps: usize, epoch_rows: usize) -> Result<(f64, f64)> {
    fashion_lab::nn::in_pool(|| profile_in_pool(model, steps, epoch_rows))
}

fn profile_in_pool(
    mut model: fashion_lab::Model,
    steps: usize,
    epoch_rows: usize,
) -> Result<(f64, f64)> {
    let data = FashionMnist::load()?;
    let x = scale_255(&data.train);
    let mut state = Optimizer::adam().start();
    let _flush = FlushSubnormals::new(); // as `fit` does
    let warm_up = 10;
    let n_layers = model.layers.len();
    let (mut fwd, mut bwd) = (vec![0.0f64; n_layers], vec![0.0f64; n_layers]);
    let (mut opt, mut loss_s, mut batch_s) = (0.0f64, 0.0f64, 0.0f64);
    let (mut started, mut cpu_started) = (Instant::now(), thread_cpu_seconds());
    let batches = x.nrows() / 128;
    for step in 0..warm_up + steps {
        if step == warm_up {
            (fwd, bwd) = (vec![0.0f64; n_layers], vec![0.0f64; n_layers]);
            (opt, loss_s, batch_s) = (0.0, 0.0, 0.0);
            started = Instant::now();
            cpu_started = thread_cpu_seconds();
        }
        let t = Instant::now();
        let b = step % batches;
        let rows: Vec<usize> = (b * 128..(b + 1) * 128).collect();
        let xb = x.select(ndarray::Axis(0), &rows);
        let yb = data.train.labels.select(ndarray::Axis(0), &rows);
        batch_s += t.elapsed().as_secs_f64();
        let mut h = xb;
        for (i, layer) in model.layers.iter_mut().enumerate() {
            let t = Instant::now();
            h = layer.forward_owned(h);
            fwd[i] += t.elapsed().as_secs_f64();
        }
        let t = Instant::now();
        let (_, mut g) = softmax_cross_entropy(&h, &yb);
        loss_s += t.elapsed().as_secs_f64();
        for (i, layer) in model.layers.iter_mut().enumerate().rev() {
            let t = Instant::now();
            g = layer.backward_owned(g);
            bwd[i] += t.elapsed().as_secs_f64();
        }
        let t = Instant::now();
        state.update(&mut model.params_mut(), 0.0);
        opt += t.elapsed().as_secs_f64();
    }
    let ms = |s: f64| s * 1000.0 / steps as f64;
    for (i, layer) in model.layers.iter().enumerate() {
        println!(
            "{:>2} {:<20} forward {:>7.3} ms  backward {:>7.3} ms",
            i + 1,
            layer.kind(),
            ms(fwd[i]),
            ms(bwd[i])
        );
    }
    println!(
        "batch {:.3} ms, loss {:.3} ms, optimiser {:.3} ms",
        ms(batch_s),
        ms(loss_s),
        ms(opt)
    );
    let per_step = started.elapsed().as_secs_f64() / steps as f64;
    let cpu_per_step = (thread_cpu_seconds() - cpu_started) / steps as f64;
    println!(
        "{:.2} ms per step -> {:.2} s per {epoch_rows}-row epoch; this thread's CPU time {:.2} ms per step (with RAYON_NUM_THREADS=1, the step's work on a busy machine)",
        per_step * 1000.0,
        per_step * epoch_rows as f64 / 128.0,
        cpu_per_step * 1000.0
    );
    Ok((per_step, f64::NAN))
}

/// CPU seconds the calling thread has run (what it would take on an idle core).
fn thread_cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the given local.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

fn report_001_cnn() -> Result<fashion_lab::Model> {
    fashion_lab::nn::zoo::report_001_cnn().build(0)
}

/// Seconds the store adds to a training that is not in it yet (hashing the data and weights
/// for its key, checkpoints every few seconds, writing the result), as a fraction printed too.
fn store_overhead() -> Result<(f64, f64)> {
    let data = FashionMnist::load()?;
    let (train, test) = (
        Scale255.labelled(&data.train)?,
        Scale255.labelled(&data.test)?,
    );
    let spec = Sequential::mlp(784, &[256, 128, 64], Activation::Relu, 0.0, 10);
    // Verbose: a training with the store prints what the store cost it (key, checkpoints,
    // keeping), the numbers to trust on a busy machine, where two runs' times vary more.
    let config = TrainConfig::default()
        .batch_size(128)
        .epochs(8)
        .verbose(true);
    let folder = std::env::temp_dir().join(format!("store-overhead-{}", std::process::id()));
    let (mut off, mut on) = (f64::INFINITY, f64::INFINITY);
    for round in 0..2 {
        for use_store in [false, true] {
            let _ = std::fs::remove_dir_all(&folder);
            let store = if use_store {
                RunStore::at(&folder)
            } else {
                RunStore::off()
            };
            let mut model = spec.build(0)?;
            let started = Instant::now();
            fit_in(&store, &mut model, &train, Some(&test), &config)?;
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "round {} store {}: {seconds:.2} s",
                round + 1,
                if use_store { "on " } else { "off" }
            );
            let best = if use_store { &mut on } else { &mut off };
            *best = best.min(seconds);
        }
    }
    // Report 001's CNN (897k weights, ~14 MB a checkpoint), 3 epochs on 12k images with the
    // store: its line gives the checkpoints' cost beside the epochs' seconds.
    let _ = std::fs::remove_dir_all(&folder);
    let small = Scale255.labelled(&data.train.stratified_subset(12_000, 0)?)?;
    let mut cnn = report_001_cnn()?;
    let cnn_config = config.epochs(3);
    fit_in(&RunStore::at(&folder), &mut cnn, &small, None, &cnn_config)?;
    let _ = std::fs::remove_dir_all(&folder);
    println!(
        "fastest off {off:.2} s, fastest on {on:.2} s: {:+.2} s ({:+.2} %)",
        on - off,
        (on - off) / off * 100.0
    );
    Ok((on - off, f64::NAN))
}

fn logistic() -> Result<(f64, f64)> {
    let data = FashionMnist::load()?;
    let (train, test) = (
        Scale255.labelled(&data.train)?,
        Scale255.labelled(&data.test)?,
    );
    let model = fashion_lab::models::LogisticClassifier::params()
        .max_iterations(100)
        .fit(&train)?;
    let acc = model.score(&test)?;
    Ok((model.fit_seconds, acc))
}

/// The model serve-load serves: `$MODEL`, else notebook 02's, else report 001's CNN trained one
/// epoch on 6,000 images now (the same work per picture as the real one), saved to a temp folder.
#[cfg(feature = "serve")]
fn serve_load_model() -> Result<(std::path::PathBuf, String)> {
    let given = std::env::var_os("MODEL").map(std::path::PathBuf::from);
    let saved = std::path::PathBuf::from("models/02-deep-cnn.safetensors");
    if let Some(path) = given.or_else(|| saved.is_file().then_some(saved)) {
        let what = path.display().to_string();
        return Ok((path, what));
    }
    let data = FashionMnist::load()?;
    let train = Scale255.labelled(&data.train.stratified_subset(6_000, 0)?)?;
    let mut model = report_001_cnn()?;
    let config = TrainConfig::default()
        .batch_size(64)
        .optimizer(Optimizer::adam())
        .epochs(1);
    fit_in(&RunStore::off(), &mut model, &train, None, &config)?;
    let path = std::env::temp_dir().join(format!("serve-load-{}.safetensors", std::process::id()));
    model.save(&path)?;
    Ok((
        path,
        "report 001's CNN, 1 epoch on 6k (no saved model found)".into(),
    ))
}

/// The example pictures of notebooks/examples/ the serve benches upload: (path, bytes).
#[cfg(feature = "serve")]
fn example_pictures() -> Result<Vec<(std::path::PathBuf, Vec<u8>)>> {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../notebooks/examples");
    ["ankle-boot", "bag", "pullover", "trouser"]
        .iter()
        .map(|name| {
            let path = examples.join(format!("{name}.png"));
            let bytes = std::fs::read(&path).map_err(|e| fashion_lab::Error::Io {
                path: path.clone(),
                source: e,
            })?;
            Ok((path, bytes))
        })
        .collect()
}

/// The class an example picture shows, from its file name: `ankle-boot.png` → "ankle boot".
#[cfg(feature = "serve")]
fn class_of(path: &std::path::Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    stem.replace('-', " ")
}

/// `fashion-lab serve` on a free loopback port with `model`, not logging requests.
#[cfg(feature = "serve")]
fn quiet_server(model: &std::path::Path) -> Result<fashion_lab::serve::RunningServer> {
    use fashion_lab::serve::{ServeConfig, Server};
    Server::bind(ServeConfig {
        port: 0,
        model: model.to_path_buf(),
        log_requests: false,
        ..ServeConfig::default()
    })?
    .spawn()
}

#[cfg(feature = "serve")]
fn serve_load() -> Result<(f64, f64)> {
    use fashion_lab::serve::client;
    use std::time::Duration;
    const CLIENTS: usize = 16;
    const EACH: usize = 25;
    let (model, what) = serve_load_model()?;
    let server = quiet_server(&model)?;
    let address = server.address().to_string();
    let pictures: Vec<(String, Vec<u8>)> = example_pictures()?
        .into_iter()
        .map(|(path, bytes)| (class_of(&path), bytes))
        .collect();
    let send = |k: usize| {
        let t = Instant::now();
        let answer = client::request(
            &address,
            "POST",
            "/api/classify",
            None,
            &pictures[k].1,
            Duration::from_secs(60),
        );
        let ok = answer.as_ref().is_ok_and(|a| a.status == 200);
        let right = answer.ok().and_then(|a| a.json().ok()).and_then(|v| {
            v["name"]
                .as_str()
                .map(|n| n.eq_ignore_ascii_case(&pictures[k].0))
        });
        (t.elapsed().as_secs_f64() * 1000.0, ok, right == Some(true))
    };
    send(0); // the model is read on the first request
    let started = Instant::now();
    let results: Vec<(f64, bool, bool)> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| scope.spawn(move || (0..EACH).map(|i| send((c + i) % 4)).collect::<Vec<_>>()))
            .collect();
        clients
            .into_iter()
            .flat_map(|c| c.join().unwrap_or_default())
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    server.stop();
    let mut ms: Vec<f64> = results.iter().map(|r| r.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| quantile(&ms, q);
    let answered = results.iter().filter(|r| r.1).count();
    let right = results.iter().filter(|r| r.2).count();
    println!(
        "serve-load: {} uploads from {CLIENTS} concurrent clients over loopback, model {what}: \
         {answered} answered 200 ({} failed), p50 {:.1} ms, p99 {:.1} ms, {:.0} requests/s",
        results.len(),
        CLIENTS * EACH - answered,
        at(0.5),
        at(0.99),
        results.len() as f64 / seconds
    );
    if model.starts_with(std::env::temp_dir()) {
        std::fs::remove_file(&model).ok();
    }
    Ok((seconds, right as f64 / (CLIENTS * EACH) as f64))
}

/// Milliseconds at quantile `q` of sorted `ms`.
#[cfg(feature = "serve")]
fn quantile(ms: &[f64], q: f64) -> f64 {
    ms[((ms.len() - 1) as f64 * q).round() as usize]
}

#[cfg(feature = "serve")]
fn serve_one() -> Result<(f64, f64)> {
    use fashion_lab::nn::Model;
    use fashion_lab::serve::client;
    use std::time::Duration;
    const TIMES: usize = 200;
    let (path, what) = serve_load_model()?;
    let model = Model::load(&path)?;
    let pictures = example_pictures()?;
    // In process: what `fashion-lab classify` and the server do per picture.
    model.classify_picture(&pictures[0].1, &pictures[0].0)?; // warm-up
    let mut in_process = Vec::with_capacity(TIMES);
    let mut right = 0;
    for i in 0..TIMES {
        let (name, bytes) = &pictures[i % pictures.len()];
        let t = Instant::now();
        let c = model.classify_picture(bytes, name)?;
        in_process.push(t.elapsed().as_secs_f64() * 1000.0);
        right += usize::from(c.name.eq_ignore_ascii_case(&class_of(name)));
    }
    // Over loopback, one request at a time.
    let server = quiet_server(&path)?;
    let address = server.address().to_string();
    let upload = |bytes: &[u8]| {
        client::request(
            &address,
            "POST",
            "/api/classify",
            None,
            bytes,
            Duration::from_secs(60),
        )
        .is_ok_and(|a| a.status == 200)
    };
    upload(&pictures[0].1); // the server reads the model on the first request
    let started = Instant::now();
    let mut served = Vec::with_capacity(TIMES);
    let mut answered = 0;
    for i in 0..TIMES {
        let t = Instant::now();
        answered += usize::from(upload(&pictures[i % pictures.len()].1));
        served.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let seconds = started.elapsed().as_secs_f64();
    server.stop();
    in_process.sort_by(f64::total_cmp);
    served.sort_by(f64::total_cmp);
    println!(
        "serve-one: model {what}; in process p50 {:.2} ms, p99 {:.2} ms; uploads over loopback \
         ({answered} of {TIMES} answered 200) p50 {:.2} ms, p99 {:.2} ms",
        quantile(&in_process, 0.5),
        quantile(&in_process, 0.99),
        quantile(&served, 0.5),
        quantile(&served, 0.99),
    );
    if path.starts_with(std::env::temp_dir()) {
        std::fs::remove_file(&path).ok();
    }
    Ok((seconds, right as f64 / TIMES as f64))
}

#[cfg(not(feature = "serve"))]
fn serve_one() -> Result<(f64, f64)> {
    Err(fashion_lab::Error::InvalidInput(
        "serve-one needs the server: cargo run --release -p fashion-lab --features serve --bin bench -- serve-one".into(),
    ))
}

#[cfg(not(feature = "serve"))]
fn serve_load() -> Result<(f64, f64)> {
    Err(fashion_lab::Error::InvalidInput(
        "serve-load needs the server: cargo run --release -p fashion-lab --features serve --bin bench -- serve-load".into(),
    ))
}

fn main() -> ExitCode {
    let Some(workload) = std::env::args().nth(1) else {
        eprintln!("usage: bench <workload>\nworkloads:");
        for (name, what) in WORKLOADS {
            eprintln!("  {name:<10} {what}");
        }
        return ExitCode::from(2);
    };
    let result = match workload.as_str() {
        "knn-full" => knn_full(),
        "mlp-epoch" => mlp_epoch(),
        "cnn-epoch" => cnn_epoch(Products::preferred()),
        "cnn-epoch-f32" => cnn_epoch(Products::F32),
        "cnn-epoch-bf16" => cnn_epoch(Products::Bf16),
        "mlp-long" => mlp_long(),
        "cnn-profile" => cnn_profile(Products::preferred()),
        "cnn-profile-f32" => cnn_profile(Products::F32),
        "cnn-profile-bf16" => cnn_profile(Products::Bf16),
        "cnn-bf16-accuracy" => cnn_bf16_accuracy(),
        "mlp-profile" => mlp_profile(),
        "logistic" => logistic(),
        "store-overhead" => store_overhead(),
        "serve-load" => serve_load(),
        "serve-one" => serve_one(),
        other => {
            eprintln!("unknown workload `{other}`; run without arguments for the list");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok((seconds, acc)) => {
            println!("{workload} seconds={seconds:.3} accuracy={acc:.4}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
