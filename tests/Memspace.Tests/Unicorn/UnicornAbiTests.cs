using System.Reflection;
using System.Runtime.InteropServices;
using Memspace.Interop;
using Memspace.Tests.Support;

namespace Memspace.Tests.Unicorn;

/// <summary>
/// The Unicorn numbers and structure layouts Memspace declares, checked against the installed headers
/// (Debian package libunicorn-dev) by compiling a small C program with gcc.
/// </summary>
public class UnicornAbiTests
{
    /// <summary>Each constant of <see cref="UnicornAbi"/> and the C expression it must equal.</summary>
    private static readonly (string Field, string C)[] Constants =
    [
        ("ArchX86", "UC_ARCH_X86"), ("Mode32", "UC_MODE_32"),
        ("ErrOk", "UC_ERR_OK"), ("ErrReadUnmapped", "UC_ERR_READ_UNMAPPED"), ("ErrWriteUnmapped", "UC_ERR_WRITE_UNMAPPED"),
        ("ErrFetchUnmapped", "UC_ERR_FETCH_UNMAPPED"), ("ErrInsnInvalid", "UC_ERR_INSN_INVALID"), ("ErrMap", "UC_ERR_MAP"),
        ("ErrWriteProt", "UC_ERR_WRITE_PROT"), ("ErrException", "UC_ERR_EXCEPTION"),
        ("HookIntr", "UC_HOOK_INTR"), ("HookInsn", "UC_HOOK_INSN"), ("HookBlock", "UC_HOOK_BLOCK"),
        ("HookMemReadUnmapped", "UC_HOOK_MEM_READ_UNMAPPED"), ("HookMemWriteUnmapped", "UC_HOOK_MEM_WRITE_UNMAPPED"),
        ("HookMemFetchUnmapped", "UC_HOOK_MEM_FETCH_UNMAPPED"), ("HookMemWriteProt", "UC_HOOK_MEM_WRITE_PROT"),
        ("HookMemUnmapped", "UC_HOOK_MEM_UNMAPPED"), ("HookInsnInvalid", "UC_HOOK_INSN_INVALID"),
        ("MemFetchUnmapped", "UC_MEM_FETCH_UNMAPPED"), ("MemWriteProt", "UC_MEM_WRITE_PROT"),
        ("ProtRead", "UC_PROT_READ"), ("ProtWrite", "UC_PROT_WRITE"), ("ProtExec", "UC_PROT_EXEC"), ("ProtAll", "UC_PROT_ALL"),
        ("InsIn", "UC_X86_INS_IN"), ("InsOut", "UC_X86_INS_OUT"), ("InsCpuid", "UC_X86_INS_CPUID"),
        ("RegCs", "UC_X86_REG_CS"), ("RegDs", "UC_X86_REG_DS"), ("RegEax", "UC_X86_REG_EAX"), ("RegEbx", "UC_X86_REG_EBX"),
        ("RegEcx", "UC_X86_REG_ECX"), ("RegEdx", "UC_X86_REG_EDX"), ("RegEflags", "UC_X86_REG_EFLAGS"), ("RegEip", "UC_X86_REG_EIP"),
        ("RegEbp", "UC_X86_REG_EBP"), ("RegEdi", "UC_X86_REG_EDI"), ("RegEs", "UC_X86_REG_ES"), ("RegEsi", "UC_X86_REG_ESI"),
        ("RegEsp", "UC_X86_REG_ESP"), ("RegFs", "UC_X86_REG_FS"), ("RegGs", "UC_X86_REG_GS"), ("RegRax", "UC_X86_REG_RAX"),
        ("RegRbp", "UC_X86_REG_RBP"), ("RegRbx", "UC_X86_REG_RBX"), ("RegRcx", "UC_X86_REG_RCX"), ("RegRdi", "UC_X86_REG_RDI"),
        ("RegRdx", "UC_X86_REG_RDX"), ("RegRip", "UC_X86_REG_RIP"), ("RegRsi", "UC_X86_REG_RSI"), ("RegRsp", "UC_X86_REG_RSP"),
        ("RegSs", "UC_X86_REG_SS"), ("RegCr0", "UC_X86_REG_CR0"), ("RegCr2", "UC_X86_REG_CR2"), ("RegCr3", "UC_X86_REG_CR3"),
        ("RegCr4", "UC_X86_REG_CR4"), ("RegCr8", "UC_X86_REG_CR8"), ("RegR8", "UC_X86_REG_R8"), ("RegIdtr", "UC_X86_REG_IDTR"),
        ("RegGdtr", "UC_X86_REG_GDTR"), ("RegLdtr", "UC_X86_REG_LDTR"), ("RegTr", "UC_X86_REG_TR"), ("RegMsr", "UC_X86_REG_MSR"),
        ("RegRflags", "UC_X86_REG_RFLAGS"), ("X86MmrSize", "sizeof(uc_x86_mmr)"),
    ];

    [Fact]
    public void ConstantsMatchTheHeaders()
    {
        Dictionary<string, long> facts = HeaderFacts();
        var wrong = new List<string>();
        foreach ((string field, string c) in Constants)
        {
            long ours = Convert.ToInt64(typeof(UnicornAbi).GetField(field, BindingFlags.Public | BindingFlags.Static)!.GetValue(null), System.Globalization.CultureInfo.InvariantCulture);
            if (facts[c] != ours)
            {
                wrong.Add($"{field} = {ours}, but {c} = {facts[c]}");
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        // Every constant is checked: a new one must be added to the list above.
        Assert.Equal(typeof(UnicornAbi).GetFields(BindingFlags.Public | BindingFlags.Static).Count(f => f.FieldType == typeof(int)), Constants.Length);
    }

    [Fact]
    public void StructLayoutsMatchTheHeaders()
    {
        Dictionary<string, long> facts = HeaderFacts();
        Assert.Equal(facts["sizeof(uc_x86_mmr)"], Marshal.SizeOf<UcX86Mmr>());
        Assert.Equal(facts["offsetof(uc_x86_mmr, base)"], (long)Marshal.OffsetOf<UcX86Mmr>(nameof(UcX86Mmr.Base)));
        Assert.Equal(facts["offsetof(uc_x86_mmr, limit)"], (long)Marshal.OffsetOf<UcX86Mmr>(nameof(UcX86Mmr.Limit)));
        Assert.Equal(facts["offsetof(uc_x86_mmr, flags)"], (long)Marshal.OffsetOf<UcX86Mmr>(nameof(UcX86Mmr.Flags)));
        Assert.Equal(facts["sizeof(uc_x86_msr)"], Marshal.SizeOf<UcX86Msr>());
        Assert.Equal(facts["offsetof(uc_x86_msr, value)"], (long)Marshal.OffsetOf<UcX86Msr>(nameof(UcX86Msr.Value)));
    }

    private static Dictionary<string, long> HeaderFacts()
    {
        if (!File.Exists("/usr/include/unicorn/unicorn.h"))
        {
            Assert.Skip("needs Unicorn's headers (/usr/include/unicorn/unicorn.h, Debian package libunicorn-dev)");
        }
        string[] extra = ["offsetof(uc_x86_mmr, base)", "offsetof(uc_x86_mmr, limit)", "offsetof(uc_x86_mmr, flags)", "sizeof(uc_x86_msr)", "offsetof(uc_x86_msr, value)"];
        string program = "#include <stdio.h>\n#include <stddef.h>\n#include <unicorn/unicorn.h>\nint main(void) {\n"
                         + string.Concat(Constants.Select(c => c.C).Concat(extra).Distinct().Select(c => $"    printf(\"%s=%lld\\n\", \"{c}\", (long long)({c}));\n"))
                         + "    return 0;\n}\n";
        return CProbe.Run(program, "uc-abi").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('='))
            .ToDictionary(p => p[0], p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
