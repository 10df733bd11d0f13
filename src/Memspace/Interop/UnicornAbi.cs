namespace Memspace.Interop;

/// <summary>
/// The numbers of Unicorn 2's C API that Memspace uses (<c>unicorn/unicorn.h</c>, <c>unicorn/x86.h</c>):
/// architecture and mode, error codes, hook types, x86 register and instruction ids, memory
/// permissions and access types. <c>UnicornAbiTests</c> checks each against the installed headers.
/// </summary>
internal static class UnicornAbi
{
    /// <summary>The library's soname (Debian package libunicorn2).</summary>
    public const string Library = "libunicorn.so.2";

    public const int ArchX86 = 4;
    public const int Mode32 = 1 << 2;

    public const int ErrOk = 0;
    public const int ErrReadUnmapped = 6;
    public const int ErrWriteUnmapped = 7;
    public const int ErrFetchUnmapped = 8;
    public const int ErrInsnInvalid = 10;
    public const int ErrMap = 11;
    public const int ErrWriteProt = 12;
    public const int ErrException = 21;

    public const int HookIntr = 1 << 0;
    public const int HookInsn = 1 << 1;
    public const int HookBlock = 1 << 3;
    public const int HookMemReadUnmapped = 1 << 4;
    public const int HookMemWriteUnmapped = 1 << 5;
    public const int HookMemFetchUnmapped = 1 << 6;
    public const int HookMemWriteProt = 1 << 8;
    public const int HookMemUnmapped = HookMemReadUnmapped | HookMemWriteUnmapped | HookMemFetchUnmapped;
    public const int HookInsnInvalid = 1 << 14;

    public const int MemFetchUnmapped = 21;
    public const int MemWriteProt = 22;

    public const int ProtRead = 1;
    public const int ProtWrite = 2;
    public const int ProtExec = 4;
    public const int ProtAll = 7;

    public const int InsIn = 218;
    public const int InsOut = 500;
    public const int InsCpuid = 113;

    public const int RegCs = 11;
    public const int RegDs = 17;
    public const int RegEax = 19;
    public const int RegEbx = 21;
    public const int RegEcx = 22;
    public const int RegEdx = 24;
    public const int RegEflags = 25;
    public const int RegEip = 26;
    public const int RegEbp = 20;
    public const int RegEdi = 23;
    public const int RegEs = 28;
    public const int RegEsi = 29;
    public const int RegEsp = 30;
    public const int RegFs = 32;
    public const int RegGs = 33;
    public const int RegRax = 35;
    public const int RegRbp = 36;
    public const int RegRbx = 37;
    public const int RegRcx = 38;
    public const int RegRdi = 39;
    public const int RegRdx = 40;
    public const int RegRip = 41;
    public const int RegRsi = 43;
    public const int RegRsp = 44;
    public const int RegSs = 49;
    public const int RegCr0 = 50;
    public const int RegCr2 = 52;
    public const int RegCr3 = 53;
    public const int RegCr4 = 54;
    public const int RegCr8 = 58;
    public const int RegR8 = 106;
    public const int RegIdtr = 242;
    public const int RegGdtr = 243;
    public const int RegLdtr = 244;
    public const int RegTr = 245;
    public const int RegMsr = 248;
    public const int RegRflags = 253;

    /// <summary>sizeof(uc_x86_mmr): selector at 0, base at 8, limit at 16, flags at 20.</summary>
    public const int X86MmrSize = 24;

    /// <summary>IA32_EFER.</summary>
    public const uint MsrEfer = 0xc000_0080;
}
