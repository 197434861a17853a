/// The package version, used in `flashrnn --version` and in the kernel cache path.
public enum FlashRNNVersion {
    public static let string = "0.1.0"
}
