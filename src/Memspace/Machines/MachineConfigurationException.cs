using Memspace.Core;

namespace Memspace.Machines;

/// <summary>A machine cannot be built with the options given: names the option and what the board allows.</summary>
public sealed class MachineConfigurationException : MemspaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="option">The <see cref="MachineOptions"/> property at fault, for example <c>RamSize</c>.</param>
    /// <param name="message">What is wrong and what the board allows.</param>
    public MachineConfigurationException(string option, string message) : base(message)
    {
        Option = option;
    }

    /// <summary>The option at fault.</summary>
    public string Option { get; }
}
