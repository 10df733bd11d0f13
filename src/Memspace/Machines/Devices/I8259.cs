using Memspace.Kvm;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// One 8259A interrupt controller with its edge/level control register (QEMU's <c>i8259</c>, or
/// <c>kvm-i8259</c> when the in-kernel irqchip serves the ports): the command/data pair ("pic" or
/// "kvm-pic", 2 ports) and ELCR ("elcr" or "kvm-elcr", 1 port). The initialisation sequence (ICW1-4),
/// the interrupt mask (OCW1), EOI (OCW2) and register reads (OCW3) are modelled; no interrupt is
/// delivered. With the in-kernel irqchip KVM answers these ports itself, and the regions only mark
/// them in the map, as in QEMU.
/// </summary>
public sealed class I8259 : IDeviceState
{
    private readonly Lock _lock = new();
    private readonly byte _elcrMask;
    private byte _imr, _irr, _isr, _vectorBase, _elcr, _icw3;
    private int _initStep; // 0: ready; 2-4: expecting ICW2-ICW4
    private bool _needIcw4, _single, _readIsr;

    /// <summary>Creates the controller's regions.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="master">The master (0x20, ELCR 0x4d0) or the slave (0xa0, 0x4d1).</param>
    /// <param name="inKernel">Named as QEMU names KVM's in-kernel model.</param>
    public I8259(MemorySystem system, bool master, bool inKernel)
    {
        IsMaster = master;
        _elcrMask = master ? (byte)0xf8 : (byte)0xde;
        string prefix = inKernel ? "kvm-" : "";
        var owner = MemoryRegionOwner.Device(inKernel ? "kvm-i8259" : "isa-i8259", $"/machine/unattached/device[pic{(master ? 0 : 1)}]");
        Ports = DeviceRegion.Create(system, prefix + "pic", 2, (a, _) => Read((int)a), (a, v, _) => Write((int)a, (byte)v), owner, 1);
        Elcr = DeviceRegion.Create(system, prefix + "elcr", 1, (_, _) => ElcrValue, (_, v, _) => { lock (_lock) { _elcr = (byte)(v & _elcrMask); } }, owner, 1);
    }

    /// <summary>Master or slave.</summary>
    public bool IsMaster { get; }

    /// <summary>"pic"/"kvm-pic".</summary>
    public MemoryRegion Ports { get; }

    /// <summary>"elcr"/"kvm-elcr".</summary>
    public MemoryRegion Elcr { get; }

    /// <summary>Interrupt mask register.</summary>
    public byte Imr { get { lock (_lock) { return _imr; } } }

    /// <summary>Vector of IRQ 0 (ICW2).</summary>
    public byte VectorBase { get { lock (_lock) { return _vectorBase; } } }

    /// <summary>Edge/level control (1 = level).</summary>
    public byte ElcrValue { get { lock (_lock) { return _elcr; } } }

    /// <summary>Maps the regions at 0x20/0x4d0 (master) or 0xa0/0x4d1 (slave).</summary>
    /// <param name="io">The "io" root.</param>
    public void Map(MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(io);
        io.AddSubregion(IsMaster ? 0x20UL : 0xa0UL, Ports);
        io.AddSubregion(IsMaster ? 0x4d0UL : 0x4d1UL, Elcr);
    }

    /// <summary>
    /// The VM whose in-kernel PIC this device stands for, or null: with it, the state saved and loaded is
    /// KVM's (<c>KVM_GET/SET_IRQCHIP</c>), since the kernel answers the ports and this model never sees them.
    /// </summary>
    public IKvmVm? Kernel { get; set; }

    private KvmIrqchipId Chip => IsMaster ? KvmIrqchipId.PicMaster : KvmIrqchipId.PicSlave;

    /// <summary>"i8259@0x20" or "i8259@0xa0".</summary>
    public string StateName => IsMaster ? "i8259@0x20" : "i8259@0xa0";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>
    /// Writes "in_kernel", then either KVM's <c>kvm_pic_state</c> field by field (with <see cref="Kernel"/>) or
    /// this model's registers: IMR, IRR, ISR, the vector base, ELCR, ICW3, the initialisation step,
    /// ICW4-expected, single mode and the OCW3 register select.
    /// </summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteBool("in_kernel", Kernel is not null);
        if (Kernel is { } vm)
        {
            KernelChipState.Save(writer, vm.GetIrqchip(Chip));
            return;
        }
        lock (_lock)
        {
            writer.WriteU8("imr", _imr);
            writer.WriteU8("irr", _irr);
            writer.WriteU8("isr", _isr);
            writer.WriteU8("irq_base", _vectorBase);
            writer.WriteU8("elcr", _elcr);
            writer.WriteU8("icw3", _icw3);
            writer.WriteU8("init_state", (byte)_initStep);
            writer.WriteBool("init4", _needIcw4);
            writer.WriteBool("single_mode", _single);
            writer.WriteBool("read_reg_select", _readIsr);
        }
    }

    /// <summary>
    /// Reads what <see cref="SaveState"/> wrote, from the same kind of PIC (in-kernel or not). Refused:
    /// ELCR bits the chip does not have, a vector base that is not a multiple of 8, an unknown
    /// initialisation step; for KVM's state also another ELCR mask, a priority above 7 and flags
    /// other than 0 or 1.
    /// </summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        KernelChipState.ReadInKernel(reader, Kernel is not null, "PIC");
        if (Kernel is { } vm)
        {
            KvmChipState state = KernelChipState.Read(reader, vm.GetIrqchip(Chip));
            reader.EnsureEnd();
            foreach (string flag in (string[])["read_reg_select", "poll", "special_mask", "auto_eoi", "rotate_on_auto_eoi", "special_fully_nested_mode", "init4"])
            {
                KernelChipState.AtMost(reader, state, flag, 1);
            }
            KernelChipState.AtMost(reader, state, "init_state", 3);
            KernelChipState.AtMost(reader, state, "priority_add", 7);
            if (state["elcr_mask"] != _elcrMask || (state["elcr"] & ~(ulong)_elcrMask) != 0 || (state["irq_base"] & 7) != 0)
            {
                throw reader.Fail($"ELCR 0x{state["elcr"]:x2} with mask 0x{state["elcr_mask"]:x2} or vector base 0x{state["irq_base"]:x2} does not fit this chip (mask 0x{_elcrMask:x2}, base a multiple of 8)");
            }
            KernelChipState.Apply(reader, () => vm.SetIrqchip(Chip, state));
            return;
        }
        byte imr = reader.ReadU8("imr");
        byte irr = reader.ReadU8("irr");
        byte isr = reader.ReadU8("isr");
        byte vectorBase = reader.ReadU8("irq_base");
        byte elcr = reader.ReadU8("elcr");
        byte icw3 = reader.ReadU8("icw3");
        byte initStep = reader.ReadU8("init_state", 4);
        bool needIcw4 = reader.ReadBool("init4");
        bool single = reader.ReadBool("single_mode");
        bool readIsr = reader.ReadBool("read_reg_select");
        reader.EnsureEnd();
        if ((elcr & ~_elcrMask) != 0 || (vectorBase & 7) != 0 || initStep == 1)
        {
            throw reader.Fail($"ELCR 0x{elcr:x2} (mask 0x{_elcrMask:x2}), vector base 0x{vectorBase:x2} or initialisation step {initStep} does not fit this chip");
        }
        lock (_lock)
        {
            (_imr, _irr, _isr, _vectorBase, _elcr, _icw3) = (imr, irr, isr, vectorBase, elcr, icw3);
            (_initStep, _needIcw4, _single, _readIsr) = (initStep, needIcw4, single, readIsr);
        }
    }

    /// <summary>Reset: mask, requests, in-service and the init sequence cleared (ELCR kept, as QEMU does).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _imr = _irr = _isr = _vectorBase = _icw3 = 0;
            _initStep = 0;
            _readIsr = false;
        }
    }

    private ulong Read(int port)
    {
        lock (_lock)
        {
            return port == 1 ? _imr : _readIsr ? _isr : _irr;
        }
    }

    private void Write(int port, byte value)
    {
        lock (_lock)
        {
            if (port == 0)
            {
                if ((value & 0x10) != 0)
                {
                    // ICW1: start initialisation.
                    _imr = _irr = _isr = 0;
                    _readIsr = false;
                    _needIcw4 = (value & 1) != 0;
                    _single = (value & 2) != 0;
                    _initStep = 2;
                }
                else if ((value & 0x08) != 0)
                {
                    // OCW3: register select for reads.
                    if ((value & 2) != 0)
                    {
                        _readIsr = (value & 1) != 0;
                    }
                }
                else if ((value & 0x20) != 0)
                {
                    // OCW2 EOI: specific (bit 6) or the highest-priority in-service IRQ.
                    int irq = (value & 0x40) != 0 ? value & 7 : _isr == 0 ? -1 : global::System.Numerics.BitOperations.TrailingZeroCount(_isr);
                    if (irq >= 0)
                    {
                        _isr &= (byte)~(1 << irq);
                    }
                }
                return;
            }
            switch (_initStep)
            {
                case 2:
                    _vectorBase = (byte)(value & 0xf8);
                    _initStep = _single ? (_needIcw4 ? 4 : 0) : 3;
                    break;
                case 3:
                    _icw3 = value;
                    _initStep = _needIcw4 ? 4 : 0;
                    break;
                case 4:
                    _initStep = 0;
                    break;
                default:
                    _imr = value; // OCW1
                    break;
            }
        }
    }
}
