// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title UnimarginAttestationVerifier
/// @notice Verifies a Unimargin profile attestation on chain: the EIP-712 digest of the message
///         is recomputed here, the signature must recover to the Unimargin deployment's signer
///         (published at `GET /v1/attestations/signer`), the attestation must not have expired
///         and coverage must be complete. A venue calls `verify` (a view) before it extends credit
///         on the attested numbers; it keeps its own record of consumed nonces if it needs replay
///         protection across calls (`verifyAndConsume` does that for it).
contract UnimarginAttestationVerifier {
    /// The message Unimargin signs. Field order and types are the EIP-712 type string; amounts
    /// are USD x 1e18 and health is x 1e18 (type(uint256).max = infinite).
    struct ProfileAttestation {
        bytes32 ownerSetHash;
        bytes32 accountsHash;
        bytes32 readPointsHash;
        uint256 health;
        int256 netValueUsd;
        uint256 maintenanceRequirementUsd;
        uint256 initialRequirementUsd;
        uint256 creditCapacityUsd;
        bool coverageComplete;
        bytes32 methodology;
        uint64 issuedAt;
        uint64 expiresAt;
        bytes32 nonce;
    }

    bytes32 public constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(string name,string version)");
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "ProfileAttestation(bytes32 ownerSetHash,bytes32 accountsHash,bytes32 readPointsHash,uint256 health,"
        "int256 netValueUsd,uint256 maintenanceRequirementUsd,uint256 initialRequirementUsd,"
        "uint256 creditCapacityUsd,bool coverageComplete,bytes32 methodology,uint64 issuedAt,"
        "uint64 expiresAt,bytes32 nonce)"
    );
    /// secp256k1 order / 2: signatures with a larger `s` are malleable copies and are refused.
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// The Unimargin deployment's signer.
    address public immutable signer;
    bytes32 public immutable domainSeparator;
    /// Nonces consumed by `verifyAndConsume`.
    mapping(bytes32 => bool) public consumed;

    constructor(address signer_) {
        signer = signer_;
        domainSeparator = keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("Unimargin"), keccak256("1")));
    }

    /// @notice The EIP-712 digest Unimargin signed.
    function digest(ProfileAttestation calldata a) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                ATTESTATION_TYPEHASH,
                a.ownerSetHash,
                a.accountsHash,
                a.readPointsHash,
                a.health,
                a.netValueUsd,
                a.maintenanceRequirementUsd,
                a.initialRequirementUsd,
                a.creditCapacityUsd,
                a.coverageComplete,
                a.methodology,
                a.issuedAt,
                a.expiresAt,
                a.nonce
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    /// @notice The address that signed `a` with the 65-byte signature `r ‖ s ‖ v`, or zero.
    function recover(ProfileAttestation calldata a, bytes calldata signature) public view returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest(a), v, r, s);
    }

    /// @notice True iff `a` is signed by `signer`, has not expired and has complete coverage.
    function verify(ProfileAttestation calldata a, bytes calldata signature) public view returns (bool) {
        if (block.timestamp >= a.expiresAt) return false;
        if (!a.coverageComplete) return false;
        address who = recover(a, signature);
        return who != address(0) && who == signer;
    }

    /// @notice `verify`, then records the nonce; reverts on any failure, including a replay.
    function verifyAndConsume(ProfileAttestation calldata a, bytes calldata signature) external returns (bool) {
        require(!consumed[a.nonce], "replayed");
        require(verify(a, signature), "invalid");
        consumed[a.nonce] = true;
        return true;
    }
}
