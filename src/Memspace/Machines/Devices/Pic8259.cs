using Memspace.Machines.State;

namespace Memspace.Machines.Devices;

/// <summary>
/// One Intel 8259A programmable interrupt controller (QEMU's <c>i8259</c> chip): initialisation words
/// ICW1-ICW4, mask (OCW1), end-of-interrupt and rotation commands (OCW2), register select and poll
/// (OCW3), edge or level triggering per input (ELCR), auto-EOI. Not thread-safe: <c>Pic8259Pair</c>
/// serialises access.
/// </summary>
public sealed class Pic8259
{
    internal Pic8259(byte elcrMask)
    {
        ElcrMask = elcrMask;
    }

    /// <summary>Interrupt request register.</summary>
    public byte Irr { get; private set; }

    /// <summary>In-service register.</summary>
    public byte Isr { get; private set; }

    /// <summary>Interrupt mask register.</summary>
    public byte Imr { get; private set; }

    /// <summary>Edge/level control register: a set bit makes that input level-triggered.</summary>
    public byte Elcr { get; private set; }

    /// <summary>Which ELCR bits are writable.</summary>
    public byte ElcrMask { get; }

    /// <summary>Vector of input 0 (ICW2, a multiple of 8).</summary>
    public byte IrqBase { get; private set; }

    private byte _lastIrr;
    private byte _priorityAdd;
    private bool _readIsr;
    private bool _poll;
    private bool _specialMask;
    private int _initState;
    private bool _autoEoi;
    private bool _rotateOnAutoEoi;
    private bool _single;
    private bool _icw4;

    /// <summary>Sets input <paramref name="irq"/> (0-7) to <paramref name="level"/>.</summary>
    internal void SetIrq(int irq, bool level)
    {
        byte mask = (byte)(1 << irq);
        if ((Elcr & mask) != 0)
        {
            Irr = level ? (byte)(Irr | mask) : (byte)(Irr & ~mask);
            _lastIrr = level ? (byte)(_lastIrr | mask) : (byte)(_lastIrr & ~mask);
        }
        else if (level)
        {
            if ((_lastIrr & mask) == 0)
            {
                Irr |= mask;
            }
            _lastIrr |= mask;
        }
        else
        {
            _lastIrr &= (byte)~mask;
        }
    }

    private int Priority(byte mask)
    {
        if (mask == 0)
        {
            return 8;
        }
        int p = 0;
        while ((mask & (1 << ((p + _priorityAdd) & 7))) == 0)
        {
            p++;
        }
        return p;
    }

    /// <summary>The input the chip would interrupt with now, or -1.</summary>
    internal int PendingIrq()
    {
        int priority = Priority((byte)(Irr & ~Imr));
        if (priority == 8)
        {
            return -1;
        }
        int inService = Priority(_specialMask ? (byte)(Isr & ~Imr) : Isr);
        return priority < inService ? (priority + _priorityAdd) & 7 : -1;
    }

    /// <summary>The acknowledge of input <paramref name="irq"/>.</summary>
    internal void Acknowledge(int irq)
    {
        byte mask = (byte)(1 << irq);
        if (_autoEoi)
        {
            if (_rotateOnAutoEoi)
            {
                _priorityAdd = (byte)((irq + 1) & 7);
            }
        }
        else
        {
            Isr |= mask;
        }
        if ((Elcr & mask) == 0)
        {
            Irr &= (byte)~mask;
        }
    }

    /// <summary>A write to the command (0) or data (1) port.</summary>
    internal void Write(int port, byte value)
    {
        if (port == 0)
        {
            if ((value & 0x10) != 0)
            {
                // ICW1: everything starts over.
                Irr = Isr = Imr = 0;
                _lastIrr = 0;
                _priorityAdd = 0;
                IrqBase = 0;
                _readIsr = _poll = _specialMask = _autoEoi = _rotateOnAutoEoi = false;
                _single = (value & 0x02) != 0;
                _icw4 = (value & 0x01) != 0;
                _initState = 1;
            }
            else if ((value & 0x08) != 0)
            {
                // OCW3.
                if ((value & 0x04) != 0)
                {
                    _poll = true;
                }
                if ((value & 0x02) != 0)
                {
                    _readIsr = (value & 0x01) != 0;
                }
                if ((value & 0x40) != 0)
                {
                    _specialMask = (value & 0x20) != 0;
                }
            }
            else
            {
                Ocw2(value);
            }
            return;
        }
        switch (_initState)
        {
            case 0:
                Imr = value;
                break;
            case 1:
                IrqBase = (byte)(value & 0xf8);
                _initState = _single ? (_icw4 ? 3 : 0) : 2;
                break;
            case 2:
                _initState = _icw4 ? 3 : 0;
                break;
            default:
                _autoEoi = (value & 0x02) != 0;
                _initState = 0;
                break;
        }
    }

    private void Ocw2(byte value)
    {
        int command = value >> 5;
        switch (command)
        {
            case 0:
            case 4:
                _rotateOnAutoEoi = command == 4;
                break;
            case 1:
            case 5:
                int priority = Priority(Isr);
                if (priority != 8)
                {
                    int irq = (priority + _priorityAdd) & 7;
                    Isr &= (byte)~(1 << irq);
                    if (command == 5)
                    {
                        _priorityAdd = (byte)((irq + 1) & 7);
                    }
                }
                break;
            case 3:
                Isr &= (byte)~(1 << (value & 7));
                break;
            case 6:
                _priorityAdd = (byte)(((value & 7) + 1) & 7);
                break;
            case 7:
                Isr &= (byte)~(1 << (value & 7));
                _priorityAdd = (byte)(((value & 7) + 1) & 7);
                break;
        }
    }

    /// <summary>A read of the command (0) or data (1) port; a poll command makes the next read an acknowledge.</summary>
    internal byte Read(int port)
    {
        if (_poll)
        {
            _poll = false;
            int irq = PendingIrq();
            if (irq < 0)
            {
                return 0;
            }
            Acknowledge(irq);
            return (byte)(0x80 | irq);
        }
        return port == 0 ? (_readIsr ? Isr : Irr) : Imr;
    }

    /// <summary>Writes every register and mode bit, prefixed by <paramref name="prefix"/> ("master." or "slave.").</summary>
    internal void SaveState(DeviceStateWriter writer, string prefix)
    {
        writer.WriteU8(prefix + "last_irr", _lastIrr);
        writer.WriteU8(prefix + "irr", Irr);
        writer.WriteU8(prefix + "imr", Imr);
        writer.WriteU8(prefix + "isr", Isr);
        writer.WriteU8(prefix + "priority_add", _priorityAdd);
        writer.WriteU8(prefix + "irq_base", IrqBase);
        writer.WriteBool(prefix + "read_reg_select", _readIsr);
        writer.WriteBool(prefix + "poll", _poll);
        writer.WriteBool(prefix + "special_mask", _specialMask);
        writer.WriteU8(prefix + "init_state", (byte)_initState);
        writer.WriteBool(prefix + "auto_eoi", _autoEoi);
        writer.WriteBool(prefix + "rotate_on_auto_eoi", _rotateOnAutoEoi);
        writer.WriteBool(prefix + "single_mode", _single);
        writer.WriteBool(prefix + "init4", _icw4);
        writer.WriteU8(prefix + "elcr", Elcr);
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote, refusing ELCR bits the chip lacks, a priority above 7, an unknown init step or an unaligned vector base; returns what applies it.</summary>
    internal Action ReadState(DeviceStateReader reader, string prefix)
    {
        byte lastIrr = reader.ReadU8(prefix + "last_irr");
        byte irr = reader.ReadU8(prefix + "irr");
        byte imr = reader.ReadU8(prefix + "imr");
        byte isr = reader.ReadU8(prefix + "isr");
        byte priorityAdd = reader.ReadU8(prefix + "priority_add", 7);
        byte irqBase = reader.ReadU8(prefix + "irq_base");
        bool readIsr = reader.ReadBool(prefix + "read_reg_select");
        bool poll = reader.ReadBool(prefix + "poll");
        bool specialMask = reader.ReadBool(prefix + "special_mask");
        byte initState = reader.ReadU8(prefix + "init_state", 3);
        bool autoEoi = reader.ReadBool(prefix + "auto_eoi");
        bool rotate = reader.ReadBool(prefix + "rotate_on_auto_eoi");
        bool single = reader.ReadBool(prefix + "single_mode");
        bool icw4 = reader.ReadBool(prefix + "init4");
        byte elcr = reader.ReadU8(prefix + "elcr");
        if ((elcr & ~ElcrMask) != 0 || (irqBase & 7) != 0)
        {
            throw reader.Fail($"{prefix}elcr 0x{elcr:x2} has bits outside 0x{ElcrMask:x2}, or {prefix}irq_base 0x{irqBase:x2} is not a multiple of 8");
        }
        return () =>
        {
            (_lastIrr, Irr, Imr, Isr, _priorityAdd, IrqBase) = (lastIrr, irr, imr, isr, priorityAdd, irqBase);
            (_readIsr, _poll, _specialMask, _initState, _autoEoi, _rotateOnAutoEoi, _single, _icw4, Elcr) =
                (readIsr, poll, specialMask, initState, autoEoi, rotate, single, icw4, elcr);
        };
    }

    internal void WriteElcr(byte value) => Elcr = (byte)(value & ElcrMask);
}
