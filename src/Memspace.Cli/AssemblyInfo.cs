using System.Runtime.CompilerServices;

// The map page's explanation templates are checked against `explain` in-process.
[assembly: InternalsVisibleTo("Memspace.Tests")]
