// SPDX-License-Identifier: MIT
// A minimal ERC-20 for the chain watcher tests: the deployer gets the supply; transfer,
// approve, transferFrom and the Transfer event as EIP-20 says. Compiled by solc-js in the
// test (tests/integration/erc20/compile.js), deployed to anvil.
pragma solidity ^0.8.20;

contract TestToken {
    string public constant name = "Test Token";
    string public constant symbol = "TTK";
    uint8 public immutable decimals;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(uint8 decimals_, uint256 supply) {
        decimals = decimals_;
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(allowance[from][msg.sender] >= value, "allowance");
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
        return true;
    }

    // two Transfer logs in one transaction (the watcher keys them by log index)
    function transferTwice(address to, uint256 a, uint256 b) external returns (bool) {
        _move(msg.sender, to, a);
        _move(msg.sender, to, b);
        return true;
    }

    function _move(address from, address to, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
