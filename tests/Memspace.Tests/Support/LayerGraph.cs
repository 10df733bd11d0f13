using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Memspace.Tests.Support;

/// <summary>
/// The edges between the layers of an assembly, read from its metadata: every type a type's
/// signatures, base types, interfaces and method bodies (IL tokens) refer to. A type's layer is its
/// namespace (nested types take their declaring type's); compiler-generated top-level types and types
/// outside the assembly are ignored.
/// </summary>
internal sealed class LayerGraph
{
    private static readonly Dictionary<short, OperandType> s_operands = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value, o => o.OperandType);

    private readonly MetadataReader _md;
    private readonly PEReader _pe;
    private readonly Func<string, string?> _layerOf;

    private LayerGraph(PEReader pe, Func<string, string?> layerOf)
    {
        _pe = pe;
        _md = pe.GetMetadataReader();
        _layerOf = layerOf;
    }

    /// <summary>Each edge (from layer, to layer) with one example of a type reference that makes it.</summary>
    public Dictionary<(string From, string To), string> Edges { get; } = [];

    /// <summary>Namespaces that no layer claims.</summary>
    public SortedSet<string> UnmappedNamespaces { get; } = new(StringComparer.Ordinal);

    /// <summary>Reads the edges of <paramref name="assemblyPath"/>; <paramref name="layerOf"/> maps a namespace to a layer (null: unmapped).</summary>
    public static LayerGraph Read(string assemblyPath, Func<string, string?> layerOf)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var graph = new LayerGraph(pe, layerOf);
        graph.Collect();
        return graph;
    }

    private void Collect()
    {
        foreach (TypeDefinitionHandle h in _md.TypeDefinitions)
        {
            string? from = LayerOf(h);
            if (from is null)
            {
                continue;
            }
            TypeDefinition td = _md.GetTypeDefinition(h);
            string where = TypeName(h);
            var refs = new HashSet<TypeDefinitionHandle>();
            AddEntity(td.BaseType, refs);
            foreach (InterfaceImplementationHandle ih in td.GetInterfaceImplementations())
            {
                AddEntity(_md.GetInterfaceImplementation(ih).Interface, refs);
            }
            foreach (FieldDefinitionHandle fh in td.GetFields())
            {
                refs.UnionWith(_md.GetFieldDefinition(fh).DecodeSignature(Provider.Instance, null));
            }
            foreach (MethodDefinitionHandle mh in td.GetMethods())
            {
                MethodDefinition m = _md.GetMethodDefinition(mh);
                MethodSignature<ImmutableHashSet<TypeDefinitionHandle>> sig = m.DecodeSignature(Provider.Instance, null);
                refs.UnionWith(sig.ReturnType);
                foreach (var p in sig.ParameterTypes)
                {
                    refs.UnionWith(p);
                }
                if (m.RelativeVirtualAddress != 0)
                {
                    AddBody(_pe.GetMethodBody(m.RelativeVirtualAddress), refs);
                }
            }
            foreach (TypeDefinitionHandle target in refs)
            {
                string? to = LayerOf(target);
                if (to is not null && to != from)
                {
                    Edges.TryAdd((from, to), $"{where} -> {TypeName(target)}");
                }
            }
        }
    }

    private string? LayerOf(TypeDefinitionHandle h)
    {
        TypeDefinition td = _md.GetTypeDefinition(h);
        while (td.GetDeclaringType() is { IsNil: false } outer)
        {
            td = _md.GetTypeDefinition(outer);
        }
        string ns = _md.GetString(td.Namespace);
        string name = _md.GetString(td.Name);
        if (ns.Length == 0 && (name.StartsWith('<') || name == "<Module>"))
        {
            return null;
        }
        if (ns.Length == 0 && name is "EmbeddedAttribute" or "RefSafetyRulesAttribute" or "NullableAttribute" or "NullableContextAttribute")
        {
            return null;
        }
        if (ns is "Microsoft.CodeAnalysis" or "System.Runtime.CompilerServices" or "System.Text.RegularExpressions.Generated")
        {
            return null;
        }
        string? layer = _layerOf(ns);
        if (layer is null)
        {
            UnmappedNamespaces.Add(ns);
        }
        return layer;
    }

    private string TypeName(TypeDefinitionHandle h)
    {
        TypeDefinition td = _md.GetTypeDefinition(h);
        string name = _md.GetString(td.Name);
        if (td.GetDeclaringType() is { IsNil: false } outer)
        {
            return TypeName(outer) + "." + name;
        }
        string ns = _md.GetString(td.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    private void AddEntity(EntityHandle handle, HashSet<TypeDefinitionHandle> refs)
    {
        if (handle.IsNil)
        {
            return;
        }
        switch (handle.Kind)
        {
            case HandleKind.TypeDefinition:
                refs.Add((TypeDefinitionHandle)handle);
                break;
            case HandleKind.TypeSpecification:
                refs.UnionWith(_md.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(Provider.Instance, null));
                break;
            case HandleKind.MethodDefinition:
                refs.Add(_md.GetMethodDefinition((MethodDefinitionHandle)handle).GetDeclaringType());
                break;
            case HandleKind.FieldDefinition:
                refs.Add(_md.GetFieldDefinition((FieldDefinitionHandle)handle).GetDeclaringType());
                break;
            case HandleKind.MemberReference:
                MemberReference mr = _md.GetMemberReference((MemberReferenceHandle)handle);
                AddEntity(mr.Parent, refs);
                if (mr.GetKind() == MemberReferenceKind.Method)
                {
                    var sig = mr.DecodeMethodSignature(Provider.Instance, null);
                    refs.UnionWith(sig.ReturnType);
                    foreach (var p in sig.ParameterTypes)
                    {
                        refs.UnionWith(p);
                    }
                }
                else
                {
                    refs.UnionWith(mr.DecodeFieldSignature(Provider.Instance, null));
                }
                break;
            case HandleKind.MethodSpecification:
                MethodSpecification ms = _md.GetMethodSpecification((MethodSpecificationHandle)handle);
                AddEntity(ms.Method, refs);
                foreach (var t in ms.DecodeSignature(Provider.Instance, null))
                {
                    refs.UnionWith(t);
                }
                break;
            case HandleKind.StandaloneSignature:
                StandaloneSignature ss = _md.GetStandaloneSignature((StandaloneSignatureHandle)handle);
                if (ss.GetKind() == StandaloneSignatureKind.LocalVariables)
                {
                    foreach (var t in ss.DecodeLocalSignature(Provider.Instance, null))
                    {
                        refs.UnionWith(t);
                    }
                }
                break;
        }
    }

    private void AddBody(MethodBodyBlock body, HashSet<TypeDefinitionHandle> refs)
    {
        if (!body.LocalSignature.IsNil)
        {
            AddEntity(body.LocalSignature, refs);
        }
        BlobReader il = body.GetILReader();
        while (il.RemainingBytes > 0)
        {
            short code = il.ReadByte();
            if (code == 0xFE)
            {
                code = (short)(0xFE00 | il.ReadByte());
            }
            switch (s_operands[code])
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    il.Offset += 1;
                    break;
                case OperandType.InlineVar:
                    il.Offset += 2;
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    il.Offset += 8;
                    break;
                case OperandType.InlineSwitch:
                    int n = il.ReadInt32();
                    il.Offset += 4 * n;
                    break;
                case OperandType.InlineField:
                case OperandType.InlineMethod:
                case OperandType.InlineTok:
                case OperandType.InlineType:
                case OperandType.InlineSig:
                    int token = il.ReadInt32();
                    AddEntity(MetadataTokens.EntityHandle(token), refs);
                    break;
                default:
                    il.Offset += 4;
                    break;
            }
        }
    }

    /// <summary>Decodes signatures into the set of the assembly's own types they mention.</summary>
    private sealed class Provider : ISignatureTypeProvider<ImmutableHashSet<TypeDefinitionHandle>, object?>
    {
        public static readonly Provider Instance = new();
        private static readonly ImmutableHashSet<TypeDefinitionHandle> s_none = [];

        public ImmutableHashSet<TypeDefinitionHandle> GetArrayType(ImmutableHashSet<TypeDefinitionHandle> elementType, ArrayShape shape) => elementType;
        public ImmutableHashSet<TypeDefinitionHandle> GetByReferenceType(ImmutableHashSet<TypeDefinitionHandle> elementType) => elementType;
        public ImmutableHashSet<TypeDefinitionHandle> GetFunctionPointerType(MethodSignature<ImmutableHashSet<TypeDefinitionHandle>> signature)
            => signature.ParameterTypes.Aggregate(signature.ReturnType, (a, b) => a.Union(b));
        public ImmutableHashSet<TypeDefinitionHandle> GetGenericInstantiation(ImmutableHashSet<TypeDefinitionHandle> genericType, ImmutableArray<ImmutableHashSet<TypeDefinitionHandle>> typeArguments)
            => typeArguments.Aggregate(genericType, (a, b) => a.Union(b));
        public ImmutableHashSet<TypeDefinitionHandle> GetGenericMethodParameter(object? genericContext, int index) => s_none;
        public ImmutableHashSet<TypeDefinitionHandle> GetGenericTypeParameter(object? genericContext, int index) => s_none;
        public ImmutableHashSet<TypeDefinitionHandle> GetModifiedType(ImmutableHashSet<TypeDefinitionHandle> modifier, ImmutableHashSet<TypeDefinitionHandle> unmodifiedType, bool isRequired) => unmodifiedType;
        public ImmutableHashSet<TypeDefinitionHandle> GetPinnedType(ImmutableHashSet<TypeDefinitionHandle> elementType) => elementType;
        public ImmutableHashSet<TypeDefinitionHandle> GetPointerType(ImmutableHashSet<TypeDefinitionHandle> elementType) => elementType;
        public ImmutableHashSet<TypeDefinitionHandle> GetPrimitiveType(PrimitiveTypeCode typeCode) => s_none;
        public ImmutableHashSet<TypeDefinitionHandle> GetSZArrayType(ImmutableHashSet<TypeDefinitionHandle> elementType) => elementType;
        public ImmutableHashSet<TypeDefinitionHandle> GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => [handle];
        public ImmutableHashSet<TypeDefinitionHandle> GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => s_none;
        public ImmutableHashSet<TypeDefinitionHandle> GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind)
            => reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);
    }
}
