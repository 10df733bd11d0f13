using System.Runtime.InteropServices;

namespace Memspace.Interop;

/// <summary>
/// The calls into Unicorn 2 (<c>libunicorn.so.2</c>). Raw imports return <c>uc_err</c>; callers turn a
/// non-zero result into an error naming the call. Callbacks are unmanaged function pointers with a
/// GC handle as user data, so no delegate has to be kept alive.
/// </summary>
internal static partial class UnicornLib
{
    private const string Lib = UnicornAbi.Library;

    private static readonly Lazy<string?> s_loadError = new(Probe);

    /// <summary>Whether the library can be loaded here; <paramref name="reason"/> says why not.</summary>
    public static bool IsAvailable(out string reason)
    {
        string? error = s_loadError.Value;
        reason = error ?? "";
        return error is null;
    }

    private static string? Probe()
    {
        if (!NativeLibrary.TryLoad(Lib, typeof(UnicornLib).Assembly, null, out nint handle))
        {
            return $"{Lib} cannot be loaded (install it with: apt-get install libunicorn2)";
        }
        try
        {
            uint version = UcVersion(0, 0);
            return (version >> 24) == 2 ? null : $"{Lib} reports API version {version >> 24}.{(version >> 16) & 0xff}, Memspace needs 2.x";
        }
        catch (EntryPointNotFoundException e)
        {
            return $"{Lib} lacks {e.Message}";
        }
        finally
        {
            NativeLibrary.Free(handle);
        }
    }

    [LibraryImport(Lib, EntryPoint = "uc_version")]
    private static partial uint UcVersion(nint major, nint minor);

    [LibraryImport(Lib, EntryPoint = "uc_strerror")]
    private static partial nint UcStrerror(int code);

    /// <summary>Unicorn's text for an error code.</summary>
    public static string ErrorText(int code) => Marshal.PtrToStringUTF8(UcStrerror(code)) ?? $"uc_err {code}";

    // SAFETY: uc points to a local the caller owns for the call.
    [LibraryImport(Lib, EntryPoint = "uc_open")]
    public static unsafe partial int Open(int arch, int mode, nint* uc);

    [LibraryImport(Lib, EntryPoint = "uc_close")]
    public static partial int Close(nint uc);

    // SAFETY: value points to a caller-owned buffer at least as large as the register (8 bytes, or a uc_x86_mmr / uc_x86_msr).
    [LibraryImport(Lib, EntryPoint = "uc_reg_read")]
    public static unsafe partial int RegRead(nint uc, int regid, void* value);

    // SAFETY: as for RegRead.
    [LibraryImport(Lib, EntryPoint = "uc_reg_write")]
    public static unsafe partial int RegWrite(nint uc, int regid, void* value);

    [LibraryImport(Lib, EntryPoint = "uc_mem_map_ptr")]
    public static partial int MemMapPtr(nint uc, ulong address, nuint size, uint perms, nint ptr);

    [LibraryImport(Lib, EntryPoint = "uc_mmio_map")]
    public static partial int MmioMap(nint uc, ulong address, nuint size, nint readCb, nint readData, nint writeCb, nint writeData);

    [LibraryImport(Lib, EntryPoint = "uc_mem_unmap")]
    public static partial int MemUnmap(nint uc, ulong address, nuint size);

    // SAFETY: bytes points to a caller-owned buffer of size bytes.
    [LibraryImport(Lib, EntryPoint = "uc_mem_read")]
    public static unsafe partial int MemRead(nint uc, ulong address, void* bytes, nuint size);

    [LibraryImport(Lib, EntryPoint = "uc_emu_start")]
    public static partial int EmuStart(nint uc, ulong begin, ulong until, ulong timeout, nuint count);

    [LibraryImport(Lib, EntryPoint = "uc_emu_stop")]
    public static partial int EmuStop(nint uc);

    // SAFETY: hh points to a caller-owned local; callback is an unmanaged function pointer of the type the hook expects.
    [LibraryImport(Lib, EntryPoint = "uc_hook_add")]
    public static unsafe partial int HookAdd(nint uc, nuint* hh, int type, nint callback, nint userData, ulong begin, ulong end);

    // SAFETY: as above; the instruction id is the variadic argument of UC_HOOK_INSN (an int, passed in a register).
    [LibraryImport(Lib, EntryPoint = "uc_hook_add")]
    public static unsafe partial int HookAddInsn(nint uc, nuint* hh, int type, nint callback, nint userData, ulong begin, ulong end, int insn);

    // SAFETY: context points to a caller-owned local.
    [LibraryImport(Lib, EntryPoint = "uc_context_alloc")]
    public static unsafe partial int ContextAlloc(nint uc, nint* context);

    [LibraryImport(Lib, EntryPoint = "uc_context_save")]
    public static partial int ContextSave(nint uc, nint context);

    [LibraryImport(Lib, EntryPoint = "uc_context_restore")]
    public static partial int ContextRestore(nint uc, nint context);

    [LibraryImport(Lib, EntryPoint = "uc_context_free")]
    public static partial int ContextFree(nint context);
}
