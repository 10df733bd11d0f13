using Memspace.Core;

namespace Memspace.Vcpus;

/// <summary>
/// A vCPU whose exits are served by the address spaces: port I/O by the I/O address space, MMIO by
/// the memory address space (QEMU's <c>CPUState</c> with its <c>kvm_cpu_exec</c> loop). It runs on an
/// accelerator's <see cref="IVcpuBackend"/>, on the caller's thread (<see cref="RunOnce"/>,
/// <see cref="Run"/>) or its own (<see cref="Start"/>), and can be paused (for example while the
/// topology changes) and resumed.
/// </summary>
public sealed class Vcpu : IDisposable
{
    private readonly IVcpuBackend _backend;
    private readonly ManualResetEventSlim _parked = new(false);
    private readonly ManualResetEventSlim _resume = new(false);
    private readonly ManualResetEventSlim _done = new(false);
    private readonly Lock _runGate = new();
    private volatile bool _pauseRequested;
    private volatile bool _stopRequested;
    private Thread? _runner;
    private int _disposed;

    /// <summary>Wraps an accelerator's vCPU.</summary>
    /// <param name="backend">The accelerator's side of the vCPU; owned (disposed) by this object.</param>
    /// <param name="memory">Where MMIO exits go.</param>
    /// <param name="io">Where port I/O exits go.</param>
    public Vcpu(IVcpuBackend backend, AddressSpace memory, AddressSpace io)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(io);
        _backend = backend;
        Memory = memory;
        Io = io;
        if (backend is IInlineExitBackend inline)
        {
            inline.SetExitHandler(ServeInline);
        }
    }

    /// <summary>vCPU id.</summary>
    public int Index => _backend.Index;

    /// <summary>The accelerator's side of the vCPU.</summary>
    public IVcpuBackend Backend => _backend;

    /// <summary>Where MMIO exits go.</summary>
    public AddressSpace Memory { get; }

    /// <summary>Where port I/O exits go.</summary>
    public AddressSpace Io { get; }

    /// <summary>Why the run loop ended, once it has.</summary>
    public VcpuStop? StopState { get; private set; }

    /// <summary>Raised on the vCPU thread after every exit, once it has been served.</summary>
    public event Action<VcpuExit>? Exited;

    /// <summary>The general-purpose registers.</summary>
    public X86Registers GetRegisters() => _backend.GetRegisters();

    /// <summary>Sets the general-purpose registers.</summary>
    /// <param name="registers">The registers.</param>
    public void SetRegisters(in X86Registers registers) => _backend.SetRegisters(registers);

    /// <summary>The segment, descriptor-table and control registers.</summary>
    public X86SystemRegisters GetSystemRegisters() => _backend.GetSystemRegisters();

    /// <summary>Sets the segment, descriptor-table and control registers.</summary>
    /// <param name="registers">The registers.</param>
    public void SetSystemRegisters(in X86SystemRegisters registers) => _backend.SetSystemRegisters(registers);

    /// <summary>Puts the vCPU at the x86 reset vector (CS base 0xffff0000, IP 0xfff0), as after a power-on reset.</summary>
    public void SetResetState()
    {
        X86SystemRegisters s = GetSystemRegisters();
        s.SetResetVector();
        SetSystemRegisters(s);
        SetRegisters(new X86Registers { Rip = 0xfff0, Rflags = 2 });
    }

    /// <summary>Starts in real mode at <paramref name="segment"/>:<paramref name="offset"/> with flat data segments at 0.</summary>
    /// <param name="segment">Code segment.</param>
    /// <param name="offset">Instruction pointer.</param>
    public void SetRealMode(ushort segment, ushort offset)
    {
        X86SystemRegisters s = GetSystemRegisters();
        s.SetResetVector();
        s.Cs = X86Segment.RealMode(segment, code: true);
        SetSystemRegisters(s);
        SetRegisters(new X86Registers { Rip = offset, Rflags = 2 });
    }

    /// <summary>Whether the backend can save and load the complete vCPU state (<see cref="IVcpuStateBackend"/>; KVM can).</summary>
    public bool CanSaveState => _backend is IVcpuStateBackend;

    /// <summary>
    /// Saves the complete vCPU state (registers, FPU, MSRs, LAPIC, pending events, ...). The vCPU must not
    /// be running: either its run thread is paused (<see cref="Pause"/>) or stopped, or nobody is inside
    /// <see cref="RunOnce"/>/<see cref="Run"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">The backend cannot save state (<see cref="CanSaveState"/> is false).</exception>
    /// <exception cref="InvalidOperationException">The vCPU is running.</exception>
    public VcpuState SaveState()
    {
        IVcpuStateBackend backend = StateBackend();
        return WhileStopped(backend.SaveState);
    }

    /// <summary>Loads a state <see cref="SaveState"/> produced (on this vCPU or one of an identically built machine). Same conditions as <see cref="SaveState"/>.</summary>
    /// <param name="state">The state.</param>
    /// <exception cref="NotSupportedException">The backend cannot load state.</exception>
    /// <exception cref="InvalidOperationException">The vCPU is running.</exception>
    /// <exception cref="VcpuStateException">The state is not one this backend can load; the message names the part.</exception>
    public void LoadState(VcpuState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        IVcpuStateBackend backend = StateBackend();
        WhileStopped(() =>
        {
            backend.LoadState(state);
            return 0;
        });
    }

    private IVcpuStateBackend StateBackend()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _backend as IVcpuStateBackend
            ?? throw new NotSupportedException($"vCPU {Index}: the {_backend.GetType().Name} backend cannot save or load vCPU state");
    }

    private T WhileStopped<T>(Func<T> action)
    {
        if (_runner is { IsAlive: true } && !_done.IsSet && !(_pauseRequested && _parked.IsSet))
        {
            throw new InvalidOperationException($"vCPU {Index} is running; pause it (Vcpu.Pause) before saving or loading its state");
        }
        if (!_runGate.TryEnter())
        {
            throw new InvalidOperationException($"vCPU {Index} is inside RunOnce; its state can be saved or loaded only between runs");
        }
        try
        {
            return action();
        }
        finally
        {
            _runGate.Exit();
        }
    }

    /// <summary>Runs the guest once: enters the accelerator and serves the exit (port I/O, MMIO) through the address spaces.</summary>
    public VcpuExit RunOnce()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        VcpuExit exit;
        // Held from entering the guest until the exit is served, so that saving or loading the state
        // never sees a half-served exit.
        lock (_runGate)
        {
            PendingExit pending = _backend.Run();
            exit = ExitServer.Serve(pending, Memory, Io);
        }
        MemspaceEventSource.Log.VcpuExit();
        Exited?.Invoke(exit);
        return exit;
    }

    /// <summary>Serves an exit an <see cref="IInlineExitBackend"/> reports from inside its run, like one <see cref="RunOnce"/> serves.</summary>
    private VcpuExit ServeInline(in PendingExit pending)
    {
        VcpuExit exit = ExitServer.Serve(pending, Memory, Io);
        Exited?.Invoke(exit);
        return exit;
    }

    /// <summary>
    /// Runs until the guest halts, shuts down, fails, or <see cref="Stop"/> is called; honours
    /// <see cref="Pause"/>. Returns why it stopped.
    /// </summary>
    public VcpuStop Run()
    {
        while (true)
        {
            if (_stopRequested)
            {
                return Finish(new VcpuStop(VcpuStopReason.Stopped, "stop requested"));
            }
            if (_pauseRequested)
            {
                _resume.Reset();
                _parked.Set();
                while (_pauseRequested && !_stopRequested)
                {
                    _resume.Wait(TimeSpan.FromMilliseconds(100));
                }
                _parked.Reset();
                continue;
            }
            VcpuExit exit = RunOnce();
            if (exit.StopReason is { } why)
            {
                return Finish(new VcpuStop(why, exit.Detail ?? why.ToString()));
            }
        }
    }

    /// <summary>Runs <see cref="Run"/> on a new thread.</summary>
    public void Start()
    {
        if (_runner is not null)
        {
            throw new InvalidOperationException($"vCPU {Index} is already running");
        }
        _done.Reset();
        _runner = new Thread(() => Run()) { IsBackground = true, Name = $"vcpu{Index}" };
        _runner.Start();
    }

    /// <summary>Waits for the run thread to end; null if it has not within <paramref name="timeout"/>.</summary>
    /// <param name="timeout">How long to wait.</param>
    public VcpuStop? Join(TimeSpan timeout) => _done.Wait(timeout) ? StopState : null;

    /// <summary>
    /// Stops the vCPU between two exits and waits until it is parked (or has stopped): the guest does not
    /// run until <see cref="Resume"/>. Returns false if it did not park within <paramref name="timeout"/>.
    /// </summary>
    /// <param name="timeout">How long to wait.</param>
    public bool Pause(TimeSpan timeout)
    {
        _pauseRequested = true;
        Kick();
        return WaitHandle.WaitAny([_parked.WaitHandle, _done.WaitHandle], timeout) != WaitHandle.WaitTimeout;
    }

    /// <summary>Lets a paused vCPU run again.</summary>
    public void Resume()
    {
        _pauseRequested = false;
        _resume.Set();
    }

    /// <summary>Ends the run loop at the next exit (kicking the vCPU out of the guest).</summary>
    public void Stop()
    {
        _stopRequested = true;
        _resume.Set();
        Kick();
    }

    private void Kick()
    {
        if (!_done.IsSet)
        {
            _backend.Kick();
        }
    }

    private VcpuStop Finish(VcpuStop stop)
    {
        StopState = stop;
        _done.Set();
        return stop;
    }

    /// <summary>Stops the run thread and releases the accelerator's vCPU.</summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }
        if (_runner is { IsAlive: true })
        {
            Stop();
            _runner.Join(TimeSpan.FromSeconds(10));
        }
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _backend.Dispose();
        }
    }
}
