using Memspace.Machines;

namespace Memspace.Tests.Devices;

/// <summary>A pc or q35 with QEMU's platform devices, and byte/word/dword port and MMIO accesses that must succeed.</summary>
internal sealed class PortBench : IDisposable
{
    private static readonly MemTxAttrs U = MemTxAttrs.UnspecifiedAttrs;

    public PortBench(string machine, bool debugConsole = true)
    {
        Machine = (X86Machine)Memspace.Machines.Machine.Create(machine, new MachineOptions { Smm = false, DemoDevice = false, Serial = false, DebugConsole = debugConsole });
    }

    public X86Machine Machine { get; }

    public byte In8(ushort port)
    {
        byte v = Machine.Io.LoadU8(port, out MemTxResult r, U);
        Assert.Equal(MemTxResult.Ok, r);
        return v;
    }

    public ushort In16(ushort port)
    {
        ushort v = Machine.Io.LoadU16Le(port, out MemTxResult r, U);
        Assert.Equal(MemTxResult.Ok, r);
        return v;
    }

    public uint In32(ushort port)
    {
        uint v = Machine.Io.LoadU32Le(port, out MemTxResult r, U);
        Assert.Equal(MemTxResult.Ok, r);
        return v;
    }

    public void Out8(ushort port, byte value) => Assert.Equal(MemTxResult.Ok, Machine.Io.StoreU8(port, value, U));

    public void Out16(ushort port, ushort value) => Assert.Equal(MemTxResult.Ok, Machine.Io.StoreU16Le(port, value, U));

    public void Out32(ushort port, uint value) => Assert.Equal(MemTxResult.Ok, Machine.Io.StoreU32Le(port, value, U));

    public uint Mmio32(ulong address)
    {
        uint v = Machine.Memory.LoadU32Le(address, out MemTxResult r, U);
        Assert.Equal(MemTxResult.Ok, r);
        return v;
    }

    public void Mmio32(ulong address, uint value) => Assert.Equal(MemTxResult.Ok, Machine.Memory.StoreU32Le(address, value, U));

    public uint Config(int devfn, int reg, int size = 4)
    {
        Out32(0xcf8, 0x8000_0000u | ((uint)devfn << 8) | (uint)(reg & 0xfc));
        return size switch
        {
            1 => In8((ushort)(0xcfc + (reg & 3))),
            2 => In16((ushort)(0xcfc + (reg & 2))),
            _ => In32(0xcfc),
        };
    }

    public void Config(int devfn, int reg, uint value, int size)
    {
        Out32(0xcf8, 0x8000_0000u | ((uint)devfn << 8) | (uint)(reg & 0xfc));
        switch (size)
        {
            case 1: Out8((ushort)(0xcfc + (reg & 3)), (byte)value); break;
            case 2: Out16((ushort)(0xcfc + (reg & 2)), (ushort)value); break;
            default: Out32(0xcfc, value); break;
        }
    }

    public void Dispose() => Machine.Dispose();
}
