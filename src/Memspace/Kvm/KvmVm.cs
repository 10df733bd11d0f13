using Memspace.Core;
using Memspace.Interop;
using Memspace.Vcpus;

namespace Memspace.Kvm;

/// <summary>A KVM virtual machine on <c>/dev/kvm</c>: memory slots, ioeventfds, interrupt lines and vCPUs.</summary>
public sealed class KvmVm : IKvmVm, IDisposable
{
    private int _kvmFd;
    private int _vmFd;

    private KvmVm(int kvmFd, int vmFd, int nrMemslots, bool readonlyMem, int vcpuMmapSize)
    {
        _kvmFd = kvmFd;
        _vmFd = vmFd;
        NrMemslots = nrMemslots;
        ReadonlyMemSupported = readonlyMem;
        VcpuMmapSize = vcpuMmapSize;
    }

    /// <summary>Whether KVM can be used here; <paramref name="reason"/> says why not.</summary>
    /// <param name="reason">Why KVM is unavailable, or empty.</param>
    /// <param name="devicePath">The KVM device.</param>
    public static bool IsAvailable(out string reason, string devicePath = "/dev/kvm")
    {
        try
        {
            int fd = OpenDevice(devicePath);
            Libc.Close(fd);
            reason = "";
            return true;
        }
        catch (KvmUnavailableException e)
        {
            reason = e.Message;
            return false;
        }
    }

    private static int OpenDevice(string devicePath)
    {
        if (!File.Exists(devicePath))
        {
            throw new KvmUnavailableException($"{devicePath} does not exist: this host offers no KVM (no kvm module, or its device is not registered)");
        }
        int fd;
        try
        {
            fd = Libc.Open(devicePath, Libc.ORdWr, 0);
        }
        catch (HostCallException e)
        {
            throw new KvmUnavailableException($"cannot open {devicePath}: {e.Message}");
        }
        int version = Libc.Ioctl(fd, KvmAbi.GetApiVersion, 0);
        if (version != KvmAbi.ApiVersion)
        {
            Libc.Close(fd);
            throw new KvmUnavailableException($"{devicePath} reports KVM API version {version}; version {KvmAbi.ApiVersion} is needed");
        }
        return fd;
    }

    /// <summary>Opens the device and creates a VM (<c>KVM_CREATE_VM</c>, <c>KVM_SET_TSS_ADDR</c>, and the irqchip if asked).</summary>
    /// <param name="options">VM options.</param>
    /// <exception cref="KvmUnavailableException">KVM cannot be used here.</exception>
    public static KvmVm Create(KvmVmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        int kvm = OpenDevice(options.DevicePath);
        try
        {
            if (Libc.Ioctl(kvm, KvmAbi.CheckExtension, KvmAbi.CapUserMemory) <= 0)
            {
                throw new KvmUnavailableException("KVM lacks KVM_CAP_USER_MEMORY");
            }
            int vm = Libc.Ioctl(kvm, KvmAbi.CreateVm, 0);
            if (vm < 0)
            {
                throw new KvmUnavailableException($"KVM_CREATE_VM failed: {HostCallException.ErrorText(-vm)} (errno {-vm})");
            }
            int slots = Libc.Ioctl(vm, KvmAbi.CheckExtension, KvmAbi.CapNrMemslots);
            bool readonlyMem = Libc.Ioctl(vm, KvmAbi.CheckExtension, KvmAbi.CapReadonlyMem) > 0;
            int spaces = Libc.Ioctl(vm, KvmAbi.CheckExtension, KvmAbi.CapMultiAddressSpace);
            int mmapSize = Libc.Ioctl(kvm, KvmAbi.GetVcpuMmapSize, 0);
            if (mmapSize < 0)
            {
                Libc.Close(vm);
                throw new KvmUnavailableException($"KVM_GET_VCPU_MMAP_SIZE failed: {HostCallException.ErrorText(-mmapSize)} (errno {-mmapSize})");
            }
            var result = new KvmVm(kvm, vm, slots > 0 ? slots : 32, readonlyMem, mmapSize) { AddressSpaces = spaces > 0 ? spaces : 1 };
            try
            {
                if (options.IdentityMapAddress is { } identity && Libc.Ioctl(kvm, KvmAbi.CheckExtension, KvmAbi.CapSetIdentityMapAddr) > 0)
                {
                    ulong address = identity;
                    result.IoctlWith(KvmAbi.SetIdentityMapAddr, ref address, "KVM_SET_IDENTITY_MAP_ADDR", $"0x{identity:x}");
                }
                if (Libc.Ioctl(kvm, KvmAbi.CheckExtension, KvmAbi.CapSetTssAddr) > 0)
                {
                    result.Ioctl(KvmAbi.SetTssAddr, (nint)options.TssAddress, "KVM_SET_TSS_ADDR", $"0x{options.TssAddress:x}");
                }
                if (options.InKernelIrqchip)
                {
                    result.Ioctl(KvmAbi.CreateIrqchip, 0, "KVM_CREATE_IRQCHIP");
                    var pit = new KvmPitConfig { Flags = 1 };
                    result.IoctlWith(KvmAbi.CreatePit2, ref pit, "KVM_CREATE_PIT2");
                    result.HasIrqchip = true;
                }
            }
            catch
            {
                result.Dispose();
                throw;
            }
            return result;
        }
        catch (KvmUnavailableException)
        {
            Libc.Close(kvm);
            throw;
        }
    }

    /// <inheritdoc/>
    public int NrMemslots { get; }

    /// <inheritdoc/>
    public bool ReadonlyMemSupported { get; }

    /// <inheritdoc/>
    public int AddressSpaces { get; private init; } = 1;

    /// <summary>Whether the VM has KVM's in-kernel irqchip (PIC, IOAPIC, a LAPIC per vCPU, PIT), whose LAPIC is part of a vCPU's state.</summary>
    public bool HasIrqchip { get; private set; }

    /// <summary>Reads the VM's kvmclock (<c>KVM_GET_CLOCK</c>), for a snapshot or a migration.</summary>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public KvmClock GetClock()
    {
        byte[] data = new byte[KvmAbi.IoctlSize(KvmAbi.GetClock)];
        BufferIoctl(KvmAbi.GetClock, data, "KVM_GET_CLOCK");
        return new KvmClock(
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(KvmAbi.ClockDataClock)),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(KvmAbi.ClockDataFlags)),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(KvmAbi.ClockDataRealtime)),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(KvmAbi.ClockDataHostTsc)));
    }

    /// <summary>
    /// Sets the VM's kvmclock (<c>KVM_SET_CLOCK</c>) to <paramref name="nanoseconds"/>, as of now. Call it on
    /// the destination after its vCPUs' state is loaded and before they run (QEMU's <c>kvmclock</c> device
    /// does it when the VM starts running).
    /// </summary>
    /// <param name="nanoseconds">The guest clock value, usually <see cref="KvmClock.Nanoseconds"/> of the saved clock.</param>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public void SetClock(ulong nanoseconds)
    {
        byte[] data = new byte[KvmAbi.IoctlSize(KvmAbi.SetClock)];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(KvmAbi.ClockDataClock), nanoseconds);
        BufferIoctl(KvmAbi.SetClock, data, "KVM_SET_CLOCK");
    }

    /// <summary>Whether the VM supports <paramref name="capability"/> (<c>KVM_CHECK_EXTENSION</c> on the VM; positive values are sizes or counts).</summary>
    internal int CheckExtension(int capability) => Math.Max(0, Libc.Ioctl(_vmFd, KvmAbi.CheckExtension, capability));

    private uint[]? _msrIndexList;

    /// <summary>The MSRs KVM saves and restores for a vCPU (<c>KVM_GET_MSR_INDEX_LIST</c> on the device), read once.</summary>
    internal uint[] MsrIndexList()
    {
        if (_msrIndexList is { } cached)
        {
            return cached;
        }
        for (int n = 64; n <= 65536; n *= 2)
        {
            byte[] buffer = new byte[KvmAbi.MsrListHeader + (4 * n)];
            BitConverter.TryWriteBytes(buffer, (uint)n);
            int r;
            // SAFETY: the pinned buffer has room for the n indices its header announces.
            unsafe
            {
                fixed (byte* p = buffer)
                {
                    r = Libc.Ioctl(_kvmFd, KvmAbi.GetMsrIndexList, (nint)p);
                }
            }
            if (r == -E2big)
            {
                continue;
            }
            if (r < 0)
            {
                throw new KvmException("KVM_GET_MSR_INDEX_LIST", -r);
            }
            uint count = Math.Min(BitConverter.ToUInt32(buffer, 0), (uint)n);
            var list = new uint[count];
            for (int i = 0; i < count; i++)
            {
                list[i] = BitConverter.ToUInt32(buffer, KvmAbi.MsrListHeader + (4 * i));
            }
            return _msrIndexList = list;
        }
        throw new KvmException("KVM_GET_MSR_INDEX_LIST: more than 65536 MSRs");
    }

    /// <summary>A VM ioctl whose argument is <paramref name="buffer"/> (its size the one the ioctl number encodes); throws on failure.</summary>
    private void BufferIoctl(uint request, byte[] buffer, string name)
    {
        if (buffer.Length < KvmAbi.IoctlSize(request))
        {
            throw new ArgumentException($"{name} needs {KvmAbi.IoctlSize(request)} bytes", nameof(buffer));
        }
        int r;
        // SAFETY: the array is pinned for the call and at least as long as the struct the ioctl reads or writes (checked above).
        unsafe
        {
            fixed (byte* p = buffer)
            {
                r = Libc.Ioctl(_vmFd, request, (nint)p);
            }
        }
        if (r < 0)
        {
            throw new KvmException(name, -r);
        }
    }

    /// <inheritdoc/>
    public bool HasInKernelIrqchip => HasIrqchip;

    /// <inheritdoc/>
    public KvmChipState GetIrqchip(KvmIrqchipId chip)
    {
        KvmChipState state = KvmChipState.ForIrqchip(chip);
        var buffer = new byte[KvmIrqchipLayout.IrqchipSize];
        BitConverter.TryWriteBytes(buffer, (uint)chip);
        int r = IoctlBuffer(KvmAbi.GetIrqchip, buffer);
        if (r < 0)
        {
            throw new KvmException("KVM_GET_IRQCHIP", -r, $"chip {(int)chip}");
        }
        state.CopyFrom(buffer.AsSpan(KvmIrqchipLayout.IrqchipChipOffset));
        return state;
    }

    /// <inheritdoc/>
    public void SetIrqchip(KvmIrqchipId chip, KvmChipState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Bytes.Length != KvmChipState.ForIrqchip(chip).Bytes.Length)
        {
            throw new ArgumentException($"a {state.StructName} is not the state of chip {chip}", nameof(state));
        }
        var buffer = new byte[KvmIrqchipLayout.IrqchipSize];
        BitConverter.TryWriteBytes(buffer, (uint)chip);
        state.CopyTo(buffer.AsSpan(KvmIrqchipLayout.IrqchipChipOffset));
        int r = IoctlBuffer(KvmAbi.SetIrqchip, buffer);
        if (r < 0)
        {
            throw new KvmException("KVM_SET_IRQCHIP", -r, $"chip {(int)chip}");
        }
    }

    /// <inheritdoc/>
    public KvmChipState GetPit()
    {
        KvmChipState state = KvmChipState.ForPit();
        var buffer = new byte[KvmIrqchipLayout.PitState2Size];
        int r = IoctlBuffer(KvmAbi.GetPit2, buffer);
        if (r < 0)
        {
            throw new KvmException("KVM_GET_PIT2", -r);
        }
        state.CopyFrom(buffer);
        return state;
    }

    /// <inheritdoc/>
    public void SetPit(KvmChipState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Bytes.Length != KvmIrqchipLayout.PitState2Size)
        {
            throw new ArgumentException($"a {state.StructName} is not a kvm_pit_state2", nameof(state));
        }
        var buffer = new byte[KvmIrqchipLayout.PitState2Size];
        state.CopyTo(buffer);
        int r = IoctlBuffer(KvmAbi.SetPit2, buffer);
        if (r < 0)
        {
            throw new KvmException("KVM_SET_PIT2", -r);
        }
    }

    /// <summary>A VM ioctl whose argument is <paramref name="buffer"/>, laid out as the ioctl's struct; returns the result or -errno.</summary>
    // SAFETY: the buffer is pinned for the call and is exactly the size the ioctl number encodes
    // (KvmIrqchipLayout's sizes, checked against <linux/kvm.h> by KvmAbiLayoutTests).
    private unsafe int IoctlBuffer(uint request, byte[] buffer)
    {
        fixed (byte* p = buffer)
        {
            return Libc.Ioctl(_vmFd, request, (nint)p);
        }
    }

    /// <summary>Size of a vCPU's <c>kvm_run</c> mapping.</summary>
    public int VcpuMmapSize { get; }

    internal int KvmFd => _kvmFd;

    internal int VmFd => _vmFd;

    /// <inheritdoc/>
    public int SetUserMemoryRegion(in KvmUserspaceMemoryRegion region)
    {
        KvmUserspaceMemoryRegion r = region;
        return TryIoctlWith(KvmAbi.SetUserMemoryRegion, ref r);
    }

    /// <inheritdoc/>
    public int GetDirtyLog(uint slot, ulong[] bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        // SAFETY: the bitmap array is pinned for the whole ioctl; the listener sizes it to one bit per
        // page of the slot, which is all KVM writes.
        unsafe
        {
            fixed (ulong* bits = bitmap)
            {
                var log = new KvmDirtyLog { Slot = slot, DirtyBitmap = (ulong)bits };
                return TryIoctlWith(KvmAbi.GetDirtyLog, ref log);
            }
        }
    }

    /// <inheritdoc/>
    public int Ioeventfd(ulong address, uint length, ulong datamatch, int fd, uint flags)
    {
        var args = new KvmIoeventfdArgs { Addr = address, Len = length, Datamatch = datamatch, Fd = fd, Flags = flags };
        return TryIoctlWith(KvmAbi.Ioeventfd, ref args);
    }

    /// <summary>Sets an interrupt line of the in-kernel irqchip (<c>KVM_IRQ_LINE</c>).</summary>
    /// <param name="irq">GSI.</param>
    /// <param name="level">Line level.</param>
    /// <exception cref="KvmException">The kernel refused (for example: no in-kernel irqchip).</exception>
    public void IrqLine(uint irq, bool level)
    {
        var l = new KvmIrqLevel { Irq = irq, Level = level ? 1u : 0u };
        IoctlWith(KvmAbi.IrqLine, ref l, "KVM_IRQ_LINE", $"GSI {irq} level {(level ? 1 : 0)}");
    }

    /// <summary>Creates vCPU <paramref name="index"/>; its port I/O goes to <paramref name="io"/>, its MMIO to <paramref name="memory"/>.</summary>
    /// <param name="index">vCPU id.</param>
    /// <param name="memory">The memory address space.</param>
    /// <param name="io">The I/O address space.</param>
    /// <exception cref="KvmException">KVM refused to create it.</exception>
    public Vcpu CreateVcpu(int index, AddressSpace memory, AddressSpace io) => new(new KvmVcpu(this, index), memory, io);

    /// <summary>A VM ioctl with an integer argument; throws <see cref="KvmException"/> naming it on failure.</summary>
    internal int Ioctl(uint request, nint arg, string name, string? context = null)
    {
        int r = Libc.Ioctl(_vmFd, request, arg);
        if (r < 0)
        {
            throw new KvmException(name, -r, context);
        }
        return r;
    }

    /// <summary>A VM ioctl whose argument is a struct passed by pointer; throws <see cref="KvmException"/> on failure.</summary>
    internal int IoctlWith<T>(uint request, ref T arg, string name, string? context = null) where T : unmanaged
    {
        int r = TryIoctlWith(request, ref arg);
        if (r < 0)
        {
            throw new KvmException(name, -r, context);
        }
        return r;
    }

    /// <summary>A VM ioctl whose argument is a struct passed by pointer; returns the result or -errno.</summary>
    // SAFETY: the struct is the caller's variable, fixed for the duration of the call, with the layout the
    // ioctl expects (KvmAbiLayoutTests checks each against <linux/kvm.h>).
    private unsafe int TryIoctlWith<T>(uint request, ref T arg) where T : unmanaged
    {
        fixed (T* p = &arg)
        {
            return Libc.Ioctl(_vmFd, request, (nint)p);
        }
    }

    /// <summary>The CPUID entries KVM supports (<c>KVM_GET_SUPPORTED_CPUID</c> on the device), growing the buffer on E2BIG.</summary>
    internal KvmCpuidEntry2[] SupportedCpuid()
    {
        for (int n = 256; n <= 4096; n *= 2)
        {
            byte[] buffer = new byte[8 + (n * System.Runtime.InteropServices.Marshal.SizeOf<KvmCpuidEntry2>())];
            BitConverter.TryWriteBytes(buffer, (uint)n);
            int r;
            // SAFETY: the pinned buffer has room for the n entries its header announces.
            unsafe
            {
                fixed (byte* p = buffer)
                {
                    r = Libc.Ioctl(_kvmFd, KvmAbi.GetSupportedCpuid, (nint)p);
                }
            }
            if (r == -E2big)
            {
                continue;
            }
            if (r < 0)
            {
                throw new KvmException("KVM_GET_SUPPORTED_CPUID", -r);
            }
            return KvmCpuid.Unpack(buffer);
        }
        throw new KvmException("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
    }

    private const int E2big = 7;

    /// <summary>Closes the VM.</summary>
    public void Dispose()
    {
        int vm = Interlocked.Exchange(ref _vmFd, -1);
        if (vm >= 0)
        {
            Libc.Close(vm);
        }
        int kvm = Interlocked.Exchange(ref _kvmFd, -1);
        if (kvm >= 0)
        {
            Libc.Close(kvm);
        }
    }
}
